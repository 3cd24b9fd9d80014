import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueenClient } from '../services/keeper/src/client.js';
import { TASKS } from './helpers/colony.js';
import { writeClusterFile } from './helpers/cluster-file.js';
import { freePort } from './helpers/daemon.js';
import { canRunFakePis, FakePis } from './helpers/fakepi.js';
import { keeper } from './helpers/keeper.js';
import { killAll, pidsWithHome, waitFor } from './helpers/procs.js';
import { readFileSync } from 'node:fs';

const can = canRunFakePis();
if (!can.ok) console.warn(`skipping SSH cluster tests: ${can.why}`);

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

describe.skipIf(!can.ok)('SSH cluster on 3 fake Pis (network namespaces, real sshd)', () => {
  let pis: FakePis;
  let home: string;
  let file: string;
  const run = (args: string[]) => keeper(args, home, { timeoutMs: 120_000 });
  const hostPids = () => pis.hosts.flatMap((h) => pidsWithHome(h.home));
  const client = () => new QueenClient(JSON.parse(readFileSync(path.join(home, 'queen.json'), 'utf8')).url, readFileSync(path.join(home, 'tokens/client.token'), 'utf8').trim());

  beforeAll(async () => {
    pis = await FakePis.create(3);
    home = mkdtempSync(path.join(os.tmpdir(), 'apiary-cluster-'));
    file = writeClusterFile(home, pis, await freePort());
  }, 120_000);

  afterAll(async () => {
    await run(['queen', 'stop']).catch(() => undefined);
    killAll([...hostPids(), ...pidsWithHome(home)]);
    await pis?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  it('cluster up brings a hive up on every host; tasks land on all 3', async () => {
    const r = await run(['cluster', 'up', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3\/3 host\(s\) up/);
    const q = client();
    const { ids } = await q.submitBatch(Array.from({ length: 12 }, (_, i) => ({ spec: js('stamp', { ms: 300, label: i }) })));
    const { tasks } = await q.waitMany(ids, 30_000);
    expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
    const hives = new Set(tasks.map((t) => t.attempts.at(-1)!.hive.split('#')[0]));
    expect(hives).toEqual(new Set(['pi1', 'pi2', 'pi3']));
  });

  it('cluster up again changes nothing on hosts that are up', async () => {
    const before = (await client().colony()).hives.map((h) => h.resources.pid).sort();
    const r = await run(['cluster', 'up', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3\/3 host\(s\) up/);
    expect(r.stdout).not.toMatch(/[1-9]\d* file\(s\) changed/);
    const after = (await client().colony()).hives.map((h) => h.resources.pid).sort();
    expect(after).toEqual(before);
  });

  it('cluster status and exec report per host', async () => {
    const s = await run(['cluster', 'status', file]);
    expect(s.exitCode, s.stderr).toBe(0);
    for (const h of ['pi1', 'pi2', 'pi3']) expect(s.stdout).toMatch(new RegExp(`${h}\\s+\\S+\\s+yes\\s+ready`));
    const e = await run(['cluster', 'exec', file, '--', 'echo', 'hello from $(hostname -I)']);
    expect(e.exitCode, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/pi2\| hello from 10\.201\.2\.2/);
    expect(e.stdout).toMatch(/pi3: exit 0/);
  });

  it('a cut link: HIVE_LOST within 3 s, its tasks finish on the other hosts; healed, the hive reconnects', async () => {
    const q = client();
    const { ids } = await q.submitBatch(Array.from({ length: 18 }, (_, i) => ({ spec: js('stamp', { ms: 400, label: i }) })));
    await waitFor(async () => (await q.colony()).hives.find((h) => h.resources.name === 'pi2')?.inFlight, 10_000, 'work on pi2');
    const t0 = Date.now();
    await pis.cut(2);
    await waitFor(async () => !(await q.colony()).hives.some((h) => h.resources.name === 'pi2'), 6000, 'pi2 lost');
    expect(Date.now() - t0).toBeLessThanOrEqual(3300);
    const { tasks } = await q.waitMany(ids, 30_000);
    expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
    expect(tasks.some((t) => t.attempts.some((a) => a.error?.code === 'HIVE_LOST'))).toBe(true);
    await pis.heal(2);
    await waitFor(async () => (await q.colony()).hives.some((h) => h.resources.name === 'pi2'), 20_000, 'pi2 back');
  });

  it('cluster logs shows a host\'s hive log, and --follow streams it until Ctrl-C', async () => {
    const r = await run(['cluster', 'logs', file, 'pi2', '--lines', '50']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/queen connection closed .*reconnecting/);
    const f = run(['cluster', 'logs', file, 'pi2', '--follow']);
    let seen = '';
    f.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    await waitFor(() => /reconnecting/.test(seen), 10_000, 'followed log output');
    f.kill('SIGINT');
    expect((await f).exitCode).toBe(130);
  });

  it('cluster down stops every hive and leaves no process of ours on any host', async () => {
    expect(hostPids().length).toBeGreaterThanOrEqual(6);
    const r = await run(['cluster', 'down', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/no process of ours remains/g)).toHaveLength(3);
    expect(r.stdout.match(/via queen/g)).toHaveLength(3);
    expect(hostPids()).toEqual([]);
  });

  it('cluster down falls back to the pidfile over SSH for hives not connected to a queen', async () => {
    const up = await run(['cluster', 'up', file]);
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    // The queen goes away but leaves the cluster's hives running (they keep reconnecting).
    const stop = await run(['queen', 'stop', '--keep-hives']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(hostPids().length).toBeGreaterThanOrEqual(6);
    const r = await run(['cluster', 'down', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/stopped \(via ssh\); no process of ours remains/g)).toHaveLength(3);
    expect(hostPids()).toEqual([]);
  });

  it('an ephemeral keeper sql --cluster run starts hives over SSH, answers, and leaves nothing on any host', async () => {
    expect(pidsWithHome(home)).toEqual([]); // no daemon left from the tests above
    const r = await run(['sql', '--cluster', file, 'SELECT 42 AS answer', '--format', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ answer: 42 }]);
    expect(r.stderr).toMatch(/pi3: join ✓/);
    expect(hostPids()).toEqual([]);
    expect(pidsWithHome(home)).toEqual([]);
  });
});
