import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REGULATION_DEFAULTS, TEMPERATURE_THRESHOLDS } from '@apiary/behaviours';
import { MAX_RESULT_BYTES, MAX_RESULT_ROWS } from '@apiary/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIVE_WAIT_MS } from '../services/queen/src/hives/wait-for-hive.js';
import { TestDaemon } from './helpers/daemon.js';
import { FakeHive } from './helpers/fake-hive.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';

/*
 * Every refusal the API promises, each on real processes: the code, the HTTP status or exit code,
 * and the bound it is refused at (proved on both sides of it where that is affordable).
 */

/** Slack for a loaded 2-core machine: process start-up (keeper, node) and a busy event loop. */
const LOADED_MACHINE_MS = 10_000;

interface Reply {
  status: number;
  json: { code?: string; message?: string; [k: string]: unknown };
  headers: Headers;
}

async function api(d: TestDaemon, method: string, route: string, body?: unknown): Promise<Reply> {
  const res = await fetch(d.url + route, {
    method,
    headers: { authorization: `Bearer ${d.token('client')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Reply['json'], headers: res.headers };
}

describe('a daemon with no hive', () => {
  let d: TestDaemon;
  let tmp = '';
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-limits-'));
    d = await TestDaemon.start(['--no-local-hive']);
  });
  afterAll(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'NO_HIVES: a write and a query wait HIVE_WAIT_MS for a hive, then fail (exit 1) instead of hanging',
    async () => {
      const csv = path.join(tmp, 'in.csv');
      writeFileSync(csv, 'a,b\n1,x\n');
      const t0 = Date.now();
      const [w, q] = await Promise.all([keeper(['write', 'nohive', csv], d.home), keeper(['sql', 'SELECT 42 AS answer'], d.home)]);
      const elapsed = Date.now() - t0;
      for (const r of [w, q]) {
        expect(r.exitCode, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/NO_HIVES: no hive is connected to (write the frame|run the query)/);
      }
      // Both waited the whole bound (they ran side by side), and not much more.
      expect(elapsed).toBeGreaterThanOrEqual(HIVE_WAIT_MS);
      expect(elapsed).toBeLessThan(HIVE_WAIT_MS + LOADED_MACHINE_MS);
      expect((await d.client.frames()).frames.map((f) => f.name)).not.toContain('nohive');
    },
    HIVE_WAIT_MS + 2 * LOADED_MACHINE_MS,
  );

  it('a batch of 10,000 tasks is accepted; 10,001 is refused with BAD_REQUEST and records nothing', async () => {
    const task = { spec: { kind: 'sql', sql: 'SELECT 1' } };
    const before = (await d.client.colony()).queued;
    const over = await api(d, 'POST', '/v1/tasks/batch', { tasks: Array.from({ length: 10_001 }, () => task) });
    expect(over.status).toBe(400);
    expect(over.json.code).toBe('BAD_REQUEST');
    expect(over.json.message).toMatch(/invalid batch at tasks: .*10000/);
    expect((await d.client.colony()).queued).toBe(before);
    const ok = await api(d, 'POST', '/v1/tasks/batch', { tasks: Array.from({ length: 10_000 }, () => task) });
    expect(ok.status).toBe(202);
    const ids = ok.json.ids as string[];
    expect(new Set(ids).size).toBe(10_000);
    // No hive: they all wait in the queen's queue, recorded.
    expect((await d.client.colony()).queued).toBe(before + 10_000);
    expect((await d.client.get(ids.at(-1)!)).state).toBe('queued');
  });

  it('waitMs is capped at 60,000: above is BAD_REQUEST before anything is recorded; up to it the long-poll holds', async () => {
    const before = (await d.client.colony()).queued;
    const submitOver = await api(d, 'POST', '/v1/tasks?waitMs=60001', { spec: { kind: 'sql', sql: 'SELECT 1' } });
    expect(submitOver.status).toBe(400);
    expect(submitOver.json).toMatchObject({ code: 'BAD_REQUEST' });
    expect(submitOver.json.message).toMatch(/invalid query at waitMs: .*60000/);
    expect((await d.client.colony()).queued).toBe(before);

    const t = await d.client.submit({ kind: 'sql', sql: 'SELECT 1' });
    const getOver = await api(d, 'GET', `/v1/tasks/${t.id}?waitMs=60001`);
    expect(getOver.status).toBe(400);
    expect(getOver.json.message).toMatch(/waitMs/);
    const waitOver = await api(d, 'POST', '/v1/tasks/wait', { ids: [t.id], waitMs: 60_001 });
    expect(waitOver.status).toBe(400);
    expect(waitOver.json.message).toMatch(/invalid wait request at waitMs/);

    // Below the cap the request is held for waitMs on a task that cannot finish (no hive)…
    const holdMs = 1000;
    const t0 = Date.now();
    const held = await api(d, 'GET', `/v1/tasks/${t.id}?waitMs=${holdMs}`);
    expect(held.status).toBe(200);
    expect(held.json.state).toBe('queued');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(holdMs - 5); // timers may fire a few ms early
    // …and the cap itself is accepted: a terminal task answers at once.
    await d.client.cancel(t.id);
    const atCap = await api(d, 'GET', `/v1/tasks/${t.id}?waitMs=60000`);
    expect(atCap.status).toBe(200);
    expect(atCap.json.state).toBe('cancelled');
  });

  it('a chunked body over the limit (no Content-Length) is 413 PAYLOAD_TOO_LARGE while it is still being sent', async () => {
    const limit = 10 * 1024 * 1024; // the queen's default maxBodyBytes
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    // We offer 8× the limit; the answer must come long before that (the queen does not buffer it all).
    const offer = 8 * limit;
    const r = await new Promise<{ status: number; json: Reply['json']; sentWhenAnswered: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = http.request(
        `${d.url}/v1/tasks`,
        { method: 'POST', headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          answered = true;
          const sentWhenAnswered = sent;
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode!, json: JSON.parse(text), sentWhenAnswered });
          });
        },
      );
      req.on('error', (e) => (answered ? undefined : reject(new Error(`${e.message} after ${sent} bytes sent, before any response`))));
      // One chunk per event-loop turn, each after the last was written: the queen answers and then
      // closes the socket it will not read, and a response already received must be read before
      // the next write meets the closed socket (EPIPE would otherwise drop the unread response).
      const pump = () => {
        if (answered) return;
        if (sent >= offer) return void req.end();
        sent += chunk.length;
        req.write(chunk, (err) => err || setImmediate(pump));
      };
      req.write('{"spec": {"kind": "sql", "sql": "SELECT \'');
      pump();
    });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(r.sentWhenAnswered).toBeLessThan(offer);
    // And the queen is fine.
    expect((await fetch(`${d.url}/v1/health`)).status).toBe(200);
  });
});

describe('RESULT_TOO_LARGE', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    // One bee with room for a million rows as JS objects.
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '1GiB']);
    await d.waitHives(1);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it(`more than ${MAX_RESULT_ROWS} rows is 413 RESULT_TOO_LARGE on POST /v1/sql (format json), refused by the bee; keeper sql streams them`, async () => {
    const hiveBefore = (await d.client.colony()).hives.map((h) => h.id);
    const sql = `SELECT 1 AS x FROM range(${MAX_RESULT_ROWS + 1})`;
    const over = await api(d, 'POST', '/v1/sql', { sql });
    expect(over.status, JSON.stringify(over.json).slice(0, 500)).toBe(413);
    expect(over.json.code).toBe('RESULT_TOO_LARGE');
    expect(over.json.message).toMatch(new RegExp(`${MAX_RESULT_ROWS + 1} rows, over ${MAX_RESULT_ROWS}.*--into FRAME`));
    expect(over.json.message).toMatch(/format ndjson or csv/);
    // keeper sql streams (format ndjson): no cap, every row printed.
    const k = await keeper(['sql', '--format', 'csv', sql], d.home, { timeoutMs: 240_000 });
    expect(k.exitCode, k.stderr).toBe(0);
    expect(k.stdout.split('\r\n').length).toBe(MAX_RESULT_ROWS + 3); // header, rows, '' after the last CRLF
    // The rows never reached the hive's socket: the same hive session is still there, and serves.
    expect((await d.client.colony()).hives.map((h) => h.id)).toEqual(hiveBefore);
    expect((await d.client.sql(`SELECT count(*) AS n FROM range(${MAX_RESULT_ROWS + 1})`)).rows).toEqual([{ n: MAX_RESULT_ROWS + 1 }]);
  }, 300_000);

  it(`a result over ${MAX_RESULT_BYTES / 1048576} MiB of JSON, even in few rows, is refused by its bee; the hive keeps its connection`, async () => {
    const hiveBefore = (await d.client.colony()).hives.map((h) => h.id);
    const rows = MAX_RESULT_BYTES / 1048576 + 6; // 1 MiB strings: a few rows over the cap
    const sql = `SELECT repeat('x', 1048576) AS s FROM range(${rows})`;
    const over = await api(d, 'POST', '/v1/sql', { sql });
    expect(over.status, JSON.stringify(over.json).slice(0, 500)).toBe(413);
    expect(over.json.code).toBe('RESULT_TOO_LARGE');
    expect(over.json.message).toMatch(new RegExp(`the result is ${rows} MiB, over ${MAX_RESULT_BYTES / 1048576} MiB`));
    // (keeper sql streams, so it has no cap: the test above and e2e/streamed-results.test.ts show it.)
    // The oversized result never crossed the socket: the same hive session is still there, and serves.
    expect((await d.client.colony()).hives.map((h) => h.id)).toEqual(hiveBefore);
    expect((await d.client.sql('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
  }, 120_000);
});

describe('QUEEN_UNREACHABLE', () => {
  let home = '';
  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'apiary-unreachable-'));
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('a keeper pointed at a queen that is not there says so and exits 1, starting nothing', async () => {
    // A port nobody listens on: bound, then released.
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const env = { APIARY_TOKEN: 'x'.repeat(32) };
    for (const args of [
      ['sql', '--queen', url, 'SELECT 1'],
      ['frames', '--queen', url],
      ['write', '--queen', url, 'f', '/tmp/nothing.csv'],
    ]) {
      const r = await keeper(args, home, { env });
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`QUEEN_UNREACHABLE: cannot reach the queen at ${url}`);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
    }
    const viaEnv = await keeper(['sql', 'SELECT 1'], home, { env: { ...env, APIARY_QUEEN: url } });
    expect(viaEnv.exitCode).toBe(1);
    expect(viaEnv.stderr).toContain('QUEEN_UNREACHABLE');
    expect(pidsWithHome(home)).toEqual([]);
  });
});

describe('COLONY_HOT', () => {
  let d: TestDaemon | null = null;
  let fake: FakeHive | null = null;
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-hot-'));
  });
  afterAll(async () => {
    await fake?.close();
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'a write on a hot colony waits its bounded time, then fails with 503 COLONY_HOT; once cool, the same write succeeds',
    async () => {
      d = await TestDaemon.start(['--no-local-hive']);
      // Every bee flat out at 90 % of its budget with one job queued per bee:
      // T = 0.4·1 + 0.4·0.9 + 0.2·0.5 = 0.86, hot (≥ 0.85) but not critical (< 0.95).
      fake = await FakeHive.join(d.port, d.token('join'), { name: 'furnace', bees: 2, beatEveryMs: 300 });
      fake.report({ cpuPercent: 100, rssFraction: 0.9, queued: 2 });
      const t = await waitFor(
        async () => {
          const c = await d!.client.colony();
          return c.temperature.level === 'hot' && c.temperature;
        },
        5000,
        'hot temperature',
      );
      expect(t.value).toBeGreaterThanOrEqual(TEMPERATURE_THRESHOLDS.hot);
      expect(t.value).toBeLessThan(TEMPERATURE_THRESHOLDS.critical);

      const csv = path.join(tmp, 'hot.csv');
      writeFileSync(csv, 'a,b\n1,x\n2,y\n');
      const t0 = Date.now();
      const [viaHttp, viaKeeper] = await Promise.all([api(d, 'POST', '/v1/frames/hot/write', { path: csv }), keeper(['write', 'hot', csv], d.home)]);
      const elapsed = Date.now() - t0;
      expect(viaHttp.status).toBe(503);
      expect(viaHttp.json).toMatchObject({ code: 'COLONY_HOT' });
      expect(viaHttp.json.message).toMatch(/stayed hot .* for \d+ ms; retry the write/);
      expect(Number(viaHttp.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(viaKeeper.exitCode, viaKeeper.stderr).toBe(1);
      expect(viaKeeper.stderr).toMatch(/COLONY_HOT/);
      // They waited the whole bound (side by side), then gave up without much delay.
      expect(elapsed).toBeGreaterThanOrEqual(REGULATION_DEFAULTS.writeMaxWaitMs);
      expect(elapsed).toBeLessThan(REGULATION_DEFAULTS.writeMaxWaitMs + LOADED_MACHINE_MS);
      expect((await api(d, 'GET', '/v1/frames/hot')).json.code).toBe('FRAME_NOT_FOUND');

      // Cool down: the furnace leaves and a real hive joins; the same write now goes through.
      await fake.close();
      fake = null;
      d.startHive('real');
      await d.waitHives(1);
      expect((await d.client.colony()).temperature.level).not.toMatch(/hot|critical/);
      const ok = await keeper(['write', 'hot', csv, '--json'], d.home);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ frame: 'hot', version: 1, rows_written: 2 });
    },
    REGULATION_DEFAULTS.writeMaxWaitMs + 4 * LOADED_MACHINE_MS + 20_000,
  );
});
