import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TASKS } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { waitFor } from './helpers/procs.js';
import { PRE_HELLO_MAX_PACKET_BYTES } from '../services/queen/src/hives/packet-limit.js';
import { helloFrame } from './helpers/hello.js';

/** The queen closes a socket that sent no hello within this long (specs/protocol.md, Handshake). */
const HELLO_TIMEOUT_MS = 5000;
/** Health on a loaded 2-core machine answers in milliseconds; this only separates "answers" from "blocked for seconds". */
const RESPONSIVE_MS = 2000;

describe('queen API: auth, validation, limits', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '256MiB']);
    await d.waitHives(1);
  });
  afterAll(async () => {
    await d?.stop();
  });

  const call = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const token = init.token === undefined ? d.token('client') : init.token;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    return fetch(d.url + path, { ...init, headers });
  };

  it('health needs no token; everything else does (401 AUTH_FAILED)', async () => {
    expect((await call('/v1/health', { token: null })).status).toBe(200);
    for (const token of [null, 'x'.repeat(32)]) {
      const r = await call('/v1/colony', { token });
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ code: 'AUTH_FAILED' });
    }
    const r = await call('/v1/tasks', { method: 'POST', token: 'wrong', body: JSON.stringify({ spec: { kind: 'sql', sql: 'SELECT 1' } }) });
    expect(r.status).toBe(401);
  });

  it('malformed JSON, a body that breaks the schema and an unknown route are 4xx with codes', async () => {
    const bad = await call('/v1/tasks', { method: 'POST', body: '{"spec": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST' });
    const schema = await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ spec: { kind: 'shell', cmd: 'rm -rf /' } }) });
    expect(schema.status).toBe(400);
    expect(((await schema.json()) as { message: string }).message).toMatch(/spec/);
    const missing = await call('/v1/tasks/no-such-task');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'TASK_NOT_FOUND' });
    expect((await call('/v1/nope')).status).toBe(404);
  });

  it('an oversized body is 413 PAYLOAD_TOO_LARGE', async () => {
    // Announce 11 MiB and send a little: the queen must answer from the Content-Length alone,
    // without reading (or buffering) the body.
    const { status, json } = await new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const headers = { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json', 'content-length': 11 * 1024 * 1024 };
      const req = http.request(`${d.url}/v1/tasks`, { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, json: JSON.parse(text) });
        });
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.write('{"spec": {"kind": "sql", "sql": "SELECT \'');
    });
    expect(status).toBe(413);
    expect(json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  async function wsAttempt(first: unknown): Promise<{ code: number; messages: unknown[] }> {
    const ws = new WebSocket(`ws://127.0.0.1:${d.port}/v1/hive`);
    const messages: unknown[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(typeof first === 'string' ? first : JSON.stringify(first));
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    return { code, messages };
  }

  const hello = (token: string) => helloFrame(token, 'intruder');

  it('a hive with a wrong join token is closed with AUTH_FAILED and never registered', async () => {
    const r = await wsAttempt(hello('w'.repeat(32)));
    expect(r.code).toBe(4401);
    expect(r.messages).toContainEqual({ type: 'error', error: { code: 'AUTH_FAILED', message: 'wrong join token' } });
    const c = await d.client.colony();
    expect(c.hives.map((h) => h.resources.name)).not.toContain('intruder');
  });

  it('unknown message types and non-JSON frames close the socket unregistered', async () => {
    for (const first of [{ type: 'bogus' }, 'not json', { ...hello(d.token('join')), protocol: 99 }]) {
      const r = await wsAttempt(first);
      expect(r.code).toBe(4400);
      expect(r.messages[0]).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST' } });
    }
    const c = await d.client.colony();
    expect(c.hives).toHaveLength(1);
  });

  it(`a frame over ${PRE_HELLO_MAX_PACKET_BYTES / 1024} KiB before hello is closed with 1009 unread; the queen stays responsive; after hello large frames pass`, async () => {
    // At the limit the frame is read (and refused as a bad hello); one byte more and it is never parsed.
    const atLimit = await wsAttempt('x'.repeat(PRE_HELLO_MAX_PACKET_BYTES));
    expect(atLimit.code).toBe(4400);
    expect(atLimit.messages[0]).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST' } });
    const t0 = Date.now();
    const over = await wsAttempt('x'.repeat(PRE_HELLO_MAX_PACKET_BYTES + 1));
    expect(over.code).toBe(1009);
    expect(over.messages).toEqual([]); // no error frame: nothing was parsed
    expect(Date.now() - t0).toBeLessThan(HELLO_TIMEOUT_MS); // closed for its size, not for a missing hello

    // A 48 MiB frame before hello (the unfixed queen buffered and parsed it for 17 s): health keeps answering.
    const big = new WebSocket(`ws://127.0.0.1:${d.port}/v1/hive`);
    await new Promise((r) => big.once('open', r));
    const closed = new Promise<number>((r) => big.once('close', (c) => r(c)));
    big.send('x'.repeat(48 * 1024 * 1024));
    const h0 = Date.now();
    expect((await call('/v1/health', { token: null })).status).toBe(200);
    expect(Date.now() - h0).toBeLessThan(RESPONSIVE_MS);
    expect(await closed).toBe(1009);

    // A hive with the right token joins, and from then on a frame may be far larger (here 1 MiB of
    // bad JSON: answered with BAD_REQUEST, the connection kept).
    const ws = new WebSocket(`ws://127.0.0.1:${d.port}/v1/hive`);
    const messages: { type: string; error?: { code: string } }[] = [];
    ws.on('message', (m) => messages.push(...[JSON.parse(m.toString())].flat()));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ ...hello(d.token('join')), hive: { ...hello('').hive, name: 'late-but-honest' } }));
    await waitFor(() => messages.some((m) => m.type === 'welcome'), 5000, 'welcome');
    ws.send('y'.repeat(1024 * 1024));
    await waitFor(() => messages.some((m) => m.type === 'error' && m.error?.code === 'BAD_REQUEST'), 5000, 'BAD_REQUEST for the large frame');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect((await d.client.colony()).hives.map((h) => h.resources.name)).toContain('late-but-honest');
    const gone = new Promise((r) => ws.once('close', r));
    ws.close();
    await gone;
    await waitFor(async () => !(await d.client.colony()).hives.some((h) => h.resources.name === 'late-but-honest'), 5000, 'the honest hive to leave');
  });

  it('stopping a hive that is not connected is 404 HIVE_NOT_FOUND', async () => {
    const r = await call('/v1/hives/nobody/shutdown', { method: 'POST', body: '{}' });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ code: 'HIVE_NOT_FOUND' });
  });

  it('keeps serving after all of that', async () => {
    const t = await d.client.run({ kind: 'js', module: TASKS, export: 'echo', args: { still: 'here' } }, {});
    expect(t.state).toBe('succeeded');
    expect(t.value).toEqual({ kind: 'js', value: { still: 'here' } });
  });

  it('streams task state changes as server-sent events', async () => {
    const ac = new AbortController();
    const res = await call('/v1/events', { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const t = await d.client.submit({ kind: 'sql', sql: 'SELECT 1' }, {});
    let text = '';
    while (!/"state":"succeeded"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const states = [...text.matchAll(/data: (.*)/g)]
      .map((m) => JSON.parse(m[1]!))
      .filter((e) => e.id === t.id)
      .map((e) => e.state);
    expect(states).toContain('running');
    expect(states.at(-1)).toBe('succeeded');
  });
});

describe('colony temperature regulation', () => {
  let d: TestDaemon | null = null;
  afterAll(async () => {
    await d?.stop();
  });

  it('at critical, new submissions get 503 COLONY_CRITICAL with Retry-After; cooling down admits them again', async () => {
    d = await TestDaemon.start(['--no-local-hive']);
    // A hive that speaks the real protocol and reports every bee flat out: CPU, memory and queue.
    const ws = new WebSocket(`ws://127.0.0.1:${d.port}/v1/hive`);
    await new Promise((r) => ws.once('open', r));
    const bee = (id: number, hot: boolean) => ({
      id,
      pid: null,
      state: 'busy',
      taskId: null,
      rssBytes: hot ? 3e8 : 1e6,
      budgetBytes: 3e8,
      cpuPercent: hot ? 100 : 0,
      tasksRun: 0,
      restarts: 0,
    });
    const beat = (hot: boolean) => ({
      type: 'heartbeat',
      at: Date.now(),
      bees: [0, 1].map((i) => bee(i, hot)),
      queued: hot ? 100 : 0,
      loadAvg: 0,
      freeMemoryBytes: 1e9,
    });
    ws.send(JSON.stringify(helloFrame(d.token('join'), 'furnace', { cores: 2, memoryBytes: 2e9, bees: 2, ephemeral: false })));
    ws.send(JSON.stringify(beat(true)));
    await waitFor(async () => (await d!.client.colony()).temperature.level === 'critical', 5000, 'critical temperature');
    const submit = () =>
      fetch(`${d!.url}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d!.token('client')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ spec: { kind: 'sql', sql: 'SELECT 1' } }),
      });
    const refused = await submit();
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'COLONY_CRITICAL' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const status = await keeper(['status'], d.home);
    expect(status.stdout).toMatch(/temperature 1\.00 critical .*refusing new tasks \(COLONY_CRITICAL\)/);
    ws.send(JSON.stringify(beat(false)));
    await waitFor(async () => (await d!.client.colony()).temperature.level !== 'critical', 5000, 'cooling down');
    expect((await submit()).status).toBe(202);
    ws.close();
  });
});
