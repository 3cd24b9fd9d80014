import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueenClient } from '@apiary/client';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome, waitGone } from './helpers/procs.js';
import { rawRequest } from './helpers/raw-http.js';

/**
 * Idempotency-Key on POST /v1/tasks and /v1/tasks/batch, against a real daemon: a retry never makes a
 * duplicate, not even across a queen SIGKILL, and keeper's client retries a lost answer with the same key.
 * Nothing else submits to this daemon, so its task count is the duplicate detector.
 */
describe('Idempotency-Key', () => {
  let d: TestDaemon;
  let submitToken = '';

  beforeAll(async () => {
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '256MiB']);
    await d.waitHives(1);
    const r = await keeper(['token', 'create', '--scope', 'submit'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    submitToken = r.stdout.trim();
  });
  afterAll(async () => {
    const home = d?.home;
    await d?.stop();
    if (home) expect(pidsWithHome(home)).toEqual([]);
  });

  const post = (path: string, body: object, key: string | undefined, token = d.token('client')) =>
    rawRequest(d.url + path, { method: 'POST', token, body: JSON.stringify(body), headers: key ? { 'idempotency-key': key } : {} });
  const taskCount = async () => {
    const r = await rawRequest(`${d.url}/v1/tasks?limit=1000`, { method: 'GET', token: d.token('client') });
    return ((r.json?.tasks ?? []) as unknown[]).length;
  };
  const one = (tag: string) => ({ spec: { kind: 'sql', sql: `SELECT '${tag}' AS tag` } });
  const batch = (tag: string) => ({ tasks: [1, 2, 3].map((i) => one(`${tag}-${i}`)) });

  it('a retry with the same key gets the same task and creates nothing; another body is 422; another token has its own keys', async () => {
    const before = await taskCount();
    const first = await post('/v1/tasks', one('a'), 'key-a');
    expect([200, 202]).toContain(first.status);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await post('/v1/tasks', one('a'), 'key-a');
    expect(again.json?.id).toBe(first.json?.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await taskCount()).toBe(before + 1);

    const other = await post('/v1/tasks', one('b'), 'key-a');
    expect(other.status).toBe(422);
    expect(other.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    // The key promises a route too: the same key on the batch route is another request.
    expect((await post('/v1/tasks/batch', batch('a'), 'key-a')).status).toBe(422);
    expect(await taskCount()).toBe(before + 1);

    const theirs = await post('/v1/tasks', one('a'), 'key-a', submitToken);
    expect([200, 202]).toContain(theirs.status);
    expect(theirs.json?.id).not.toBe(first.json?.id);

    const b1 = await post('/v1/tasks/batch', batch('b'), 'key-b');
    expect(b1.status).toBe(202);
    const b2 = await post('/v1/tasks/batch', batch('b'), 'key-b');
    expect(b2.json?.ids).toEqual(b1.json?.ids);
    expect(await taskCount()).toBe(before + 2 + 3);

    for (const bad of ['', 'has space', 'x'.repeat(256)]) {
      const r = await post('/v1/tasks', one('c'), bad || ' ');
      expect(r.status, bad).toBe(400);
    }
    expect(await taskCount()).toBe(before + 2 + 3);
  });

  it('the key is durable: after a queen SIGKILL and restart, retries get the first ids and no duplicate', async () => {
    const single = await post('/v1/tasks', one('crash'), 'key-crash');
    const many = await post('/v1/tasks/batch', batch('crash'), 'key-crash-batch');
    expect(many.status).toBe(202);
    const count = await taskCount();

    const pid = d.queen!.pid!;
    d.queen!.kill('SIGKILL');
    await waitGone([pid], 2000);
    await d.startQueen();
    await d.waitHives(1);

    const again = await post('/v1/tasks', one('crash'), 'key-crash');
    expect(again.json?.id).toBe(single.json?.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const againMany = await post('/v1/tasks/batch', batch('crash'), 'key-crash-batch');
    expect(againMany.json?.ids).toEqual(many.json?.ids);
    expect(await taskCount()).toBe(count);
    // And the task the key names is a real one that runs to its end.
    const done = await rawRequest(`${d.url}/v1/tasks/${single.json?.id}?waitMs=20000`, { method: 'GET', token: d.token('client') });
    expect(done.json).toMatchObject({ state: 'succeeded', value: { rows: [{ tag: 'crash' }] } });
  });

  it("keeper's client retries a submission whose answer was lost with the same key: one task, the queen's id", async () => {
    // A real TCP relay to the queen that loses the first answer (the request reaches the queen, the
    // response never reaches the client), then relays faithfully.
    const keys: string[] = [];
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const first = connections++ === 0;
      const upstream = net.connect(d.port, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.on('data', (c: Buffer) => {
        const k = /idempotency-key: (\S+)/i.exec(c.toString('latin1'));
        if (k) keys.push(k[1]!);
        upstream.write(c);
      });
      upstream.on('data', (c: Buffer) => (first ? client.destroy() : client.write(c)));
      for (const s of [client, upstream]) s.on('error', () => {});
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    try {
      const before = await taskCount();
      const client = new QueenClient(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, d.token('client'));
      const view = await client.submit({ kind: 'sql', sql: "SELECT 'lost answer' AS tag" });
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      expect(new Set(keys).size).toBe(1);
      expect(await taskCount()).toBe(before + 1);
      const listed = await rawRequest(`${d.url}/v1/tasks?limit=1`, { method: 'GET', token: d.token('client') });
      expect(((listed.json?.tasks ?? []) as { id: string }[])[0]?.id).toBe(view.id);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => relay.close(r));
    }
  });
});
