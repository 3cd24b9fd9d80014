import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { daemonPaths, removeDaemonState, writeDaemonState, writePrivateFile } from '@apiary/config';
import { tempHome } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';

/**
 * The local daemon's client token (APIARY_HOME/tokens/client.token) belongs to that daemon: a keeper
 * sent to another queen URL must not hand it over. A plain HTTP server stands in for "another queen"
 * and records every Authorization header it is sent (answering 401, as a queen with another token would).
 */
describe('the local client token goes only to the local queen', () => {
  const LOCAL_TOKEN = 'L'.repeat(43);
  const ENV_TOKEN = 'E'.repeat(43);
  let home = '';
  let server: Server | null = null;
  let url = '';
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    home = tempHome();
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'AUTH_FAILED', message: 'wrong token' } }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writePrivateFile(daemonPaths(home).clientTokenFile, `${LOCAL_TOKEN}\n`);
    writePrivateFile(daemonPaths(home).joinTokenFile, `${'J'.repeat(43)}\n`);
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (home) rmSync(home, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
    removeDaemonState(daemonPaths(home));
  });

  /** A live local daemon, as keepers find it: a state file naming a running process (this one) and its URL. */
  const localDaemonAt = (at: string) => writeDaemonState(daemonPaths(home), { url: at, pid: process.pid, startedAt: Date.now() });

  it('--queen and APIARY_QUEEN at another URL: refused with AUTH_FAILED before anything is sent', async () => {
    localDaemonAt('http://127.0.0.1:1');
    for (const [args, env] of [
      [['frames', '--queen', url], {}],
      [['frames'], { APIARY_QUEEN: url }],
    ] as const) {
      const r = await keeper([...args], home, { env });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/AUTH_FAILED: no client token for the queen at .*set APIARY_TOKEN/);
    }
    expect(seen).toEqual([]);
    expect(pidsWithHome(home)).toEqual([]);
  });

  it('with APIARY_TOKEN, that token is sent to the other URL and the local one never is', async () => {
    localDaemonAt('http://127.0.0.1:1');
    const r = await keeper(['frames', '--queen', url], home, { env: { APIARY_TOKEN: ENV_TOKEN } });
    expect(r.exitCode, r.stderr).toBe(1); // the stand-in answers 401 to everything
    expect(seen.length).toBeGreaterThan(0);
    expect(
      seen.every((h) => h === `Bearer ${ENV_TOKEN}`),
      String(seen),
    ).toBe(true);
  });

  it('cluster up --queen at another URL: the local join token is not handed to its hives either (AUTH_FAILED, set APIARY_JOIN_TOKEN)', async () => {
    localDaemonAt('http://127.0.0.1:1');
    const file = path.join(home, 'cluster.yaml');
    // A host nobody reaches: the keeper must stop before any SSH, at the join token.
    writeFileSync(file, ['cluster: t', 'queen:', '  address: 127.0.0.1', 'hosts:', '  - name: a', '    address: 192.0.2.1', '    user: pi', ''].join('\n'));
    const r = await keeper(['cluster', 'up', file, '--queen', url], home, { env: { APIARY_TOKEN: ENV_TOKEN } });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/AUTH_FAILED: no join token for the queen at .*set APIARY_JOIN_TOKEN/);
    expect(seen).toEqual([]);
  });

  it('the local daemon URL itself gets the local token (the server above sees it, so the refusals are real)', async () => {
    localDaemonAt(`${url}/`);
    const r = await keeper(['frames', '--queen', url], home);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    expect(
      seen.every((h) => h === `Bearer ${LOCAL_TOKEN}`),
      String(seen),
    ).toBe(true);
  });
});
