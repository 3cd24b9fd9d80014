import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPaths } from '@apiary/config';
import { tempHome } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { killAll, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

const INFO = { APIARY_LOG_LEVEL: 'info' };

describe('daemon logs', () => {
  let home = '';

  afterEach(async () => {
    if (!home) return;
    const pids = pidsWithHome(home);
    try {
      await keeper(['queen', 'stop'], home);
      await waitGone(pids, 20_000);
    } finally {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
      home = '';
    }
  });

  const start = async (extra: string[] = []) => {
    home = tempHome();
    const r = await keeper(['queen', 'start', '--detach', '--port', '0', '--bees', '1', '--memory-per-bee', '256MiB', ...extra], home, { env: INFO });
    expect(r.exitCode, r.stderr).toBe(0);
    const p = daemonPaths(home);
    const state = JSON.parse(readFileSync(p.stateFile, 'utf8')) as { url: string };
    const token = (which: string) => readFileSync(path.join(home, 'tokens', `${which}.token`), 'utf8').trim();
    return { p, url: state.url, client: token('client'), join: token('join') };
  };

  const jsonLines = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l, i) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          throw new Error(`${path.basename(file)} line ${i + 1} is not JSON: ${l}`);
        }
      });

  it('queen.log and hive.log are JSON lines; each request is one line with the token redacted and never written', async () => {
    const { p, url, client, join } = await start();
    const auth = { authorization: `Bearer ${client}` };
    expect((await fetch(`${url}/v1/colony`, { headers: auth })).status).toBe(200);
    // A token put in the query string by mistake is redacted too.
    expect((await fetch(`${url}/metrics?token=${client}&format=text`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/v1/colony`, { headers: { authorization: `Bearer ${join}` } })).status).toBeGreaterThanOrEqual(401);
    expect((await fetch(`${url}/v1/colony`)).status).toBe(401);
    const run = await keeper(['sql', 'SELECT 42 AS answer'], home, { env: INFO });
    expect(run.exitCode, run.stderr).toBe(0);
    const requests = () => jsonLines(p.logFile).filter((r) => r.msg === 'request');
    // Request lines are written when the response is sent: the last one may trail our fetch a little.
    await waitFor(() => requests().filter((r) => r.url === '/v1/colony').length >= 3, LOAD_MARGIN_MS, 'the request lines');
    // With the client token (200), with the join token (a hive's: refused here) and with none (401).
    const statuses = requests()
      .filter((r) => r.url === '/v1/colony')
      .map((r) => r.status as number);
    expect(statuses).toContain(200);
    expect(statuses).toContain(401);
    expect(statuses.filter((x) => x >= 400)).toHaveLength(2);
    const colonyOk = requests().find((r) => r.url === '/v1/colony' && r.status === 200)!;
    expect(colonyOk).toMatchObject({ level: 'info', component: 'queen/http', method: 'GET', tokenId: 'client' });
    expect(typeof colonyOk.ms).toBe('number');
    expect(requests().find((r) => String(r.url).startsWith('/metrics'))?.url).toBe('/metrics?token=[REDACTED]&format=text');
    // The keeper's own requests (it submitted the SQL) are there too.
    const posts = requests()
      .filter((r) => r.method === 'POST')
      .map((r) => String(r.url));
    expect(posts).toContain('/v1/sql');
    const stop = await keeper(['queen', 'stop'], home);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const hiveLog = path.join(path.dirname(p.logFile), 'hive.log');
    // Every line of both files parses; the hive's carry its component and pid like the queen's.
    const queenRecs = jsonLines(p.logFile);
    const hiveRecs = jsonLines(hiveLog);
    expect(queenRecs.every((r) => typeof r.level === 'string' && typeof r.time === 'string' && typeof r.component === 'string')).toBe(true);
    expect(hiveRecs.length).toBeGreaterThan(0);
    expect(hiveRecs.every((r) => String(r.component).startsWith('hive') && typeof r.pid === 'number')).toBe(true);
    for (const f of readdirSync(path.dirname(p.logFile))) {
      const text = readFileSync(path.join(path.dirname(p.logFile), f), 'utf8');
      expect(text, f).not.toContain(client);
      expect(text, f).not.toContain(join);
    }
  });

  it('--log-format pretty writes readable lines; an unknown format is a usage error (exit 2)', async () => {
    const { p } = await start(['--log-format', 'pretty']);
    await waitFor(() => / info {2}queen\[\d+\] local hive started/.test(readFileSync(p.logFile, 'utf8')), LOAD_MARGIN_MS, 'a readable line');
    expect(readFileSync(p.logFile, 'utf8')).not.toMatch(/^\{/m);
    const stop = await keeper(['queen', 'stop'], home);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const other = tempHome();
    try {
      const bad = await keeper(['queen', 'start', '--detach', '--port', '0', '--log-format', 'xml'], other);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr + readFileSync(daemonPaths(other).logFile, 'utf8')).toMatch(/USAGE: apiary-queen: --log-format: expected json or pretty, not "xml"/);
    } finally {
      killAll(pidsWithHome(other));
      rmSync(other, { recursive: true, force: true });
    }
  });
});
