import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEEN_FLAGS, toArgv } from '@apiary/config';
import { parseCluster } from '../services/keeper/src/cluster/file/index.js';
import { clusterQueenArgs } from '../services/keeper/src/cluster/queen-args.js';
import { TestDaemon } from './helpers/daemon.js';
import { pidsWithHome } from './helpers/procs.js';

/*
 * cluster.yaml's queen options reach a real queen: the argv `keeper cluster up` builds for its
 * daemon (clusterQueenArgs, the same function) started as a real queen process. Two options are
 * visible from outside: metrics_port opens the tokenless metrics listener, and data_root is where
 * the queen writes its data-root probe at start. (Every option's parsing and bounds: keeper's
 * cluster-queen-options unit test.)
 */

let d: TestDaemon | undefined;
let dataParent: string | undefined;

afterEach(async () => {
  const home = d?.home;
  await d?.stop();
  d = undefined;
  if (home) expect(pidsWithHome(home)).toEqual([]);
  if (dataParent) rmSync(dataParent, { recursive: true, force: true });
  dataParent = undefined;
});

describe('a queen started from a cluster file', () => {
  it('gets the queen section’s options: metrics_port opens the tokenless listener, data_root holds its probe', async () => {
    dataParent = mkdtempSync(path.join(os.tmpdir(), 'apiary-test-data-'));
    const dataRoot = path.join(dataParent, 'frames');
    const yaml = `cluster: t
queen:
  address: 127.0.0.1
  port: 0
  data_root: ${dataRoot}
  metrics_port: 0
  keep_versions: 3
hosts:
  - { name: pi1, address: 10.0.0.11, user: pi }
`;
    const cfg = parseCluster(yaml, 'cluster.yaml', { baseDir: dataParent });
    d = await TestDaemon.start(toArgv(QUEEN_FLAGS, clusterQueenArgs(cfg)));

    // metrics_port: the ready line names the second listener, and it answers without a token.
    expect(d.metricsUrl).not.toBe('');
    const res = await fetch(new URL('/metrics', d.metricsUrl));
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# (HELP|TYPE) apiary_/m);

    // data_root: the queen writes its probe there (not under its home) before it listens.
    expect(existsSync(path.join(dataRoot, '.probe'))).toBe(true);
    expect(readFileSync(path.join(dataRoot, '.probe'), 'utf8')).toMatch(/^[0-9a-f]{32}$/);
    expect(existsSync(path.join(d.home, 'data', '.probe'))).toBe(false);
  });
});
