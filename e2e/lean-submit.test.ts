import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * POST /v1/tasks is answered by the queen's lean path (services/queen/src/http/lean-submit.ts) when
 * the request carries a Content-Length, and by fastify's route otherwise (chunked). Every answer must
 * be the same either way: status, error bodies byte for byte, the headers clients read.
 */
describe('POST /v1/tasks: the lean path answers as fastify does', () => {
  let d: TestDaemon;
  let readToken = '';

  beforeAll(async () => {
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '256MiB']);
    await d.waitHives(1);
    const r = await keeper(['token', 'create', '--scope', 'read'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    readToken = r.stdout.trim();
  });
  afterAll(async () => {
    const home = d?.home;
    await d?.stop();
    if (home) expect(pidsWithHome(home)).toEqual([]);
  });

  /** One POST; `chunked` sends the body without a Content-Length, which only fastify's route takes. */
  const post = (path: string, body: string, headers: Record<string, string>, chunked: boolean): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = http.request(d.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (chunked) {
        req.write(body);
        req.end();
      } else req.end(body);
    });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const task = (tag: string) => JSON.stringify({ spec: { kind: 'sql', sql: `SELECT '${tag}' AS tag` } });
  /** The headers a client may read (not Date, Connection, Keep-Alive, Transfer-Encoding). */
  const kept = (h: http.IncomingHttpHeaders) => ({
    type: h['content-type'],
    length: h['content-length'] !== undefined,
    retryAfter: h['retry-after'],
    replayed: h['idempotent-replayed'],
  });

  it('errors: the same status, body and headers', async () => {
    const cases: [string, string, Record<string, string>][] = [
      ['/v1/tasks', task('a'), {}],
      ['/v1/tasks', task('a'), auth('wrong')],
      ['/v1/tasks', task('a'), auth(d.token('join'))],
      ['/v1/tasks', task('a'), auth(readToken)],
      ['/v1/tasks', '{"spec":', auth(d.token('client'))],
      ['/v1/tasks', '{"__proto__":{"x":1},"spec":{"kind":"sql","sql":"SELECT 1"}}', auth(d.token('client'))],
      ['/v1/tasks', '[]', auth(d.token('client'))],
      ['/v1/tasks', JSON.stringify({ spec: { kind: 'nope' } }), auth(d.token('client'))],
      ['/v1/tasks', JSON.stringify({ spec: { kind: 'write', sql: 'x' } }), auth(d.token('client'))],
      ['/v1/tasks?waitMs=9999999999', task('a'), auth(d.token('client'))],
      ['/v1/tasks', task('a'), { ...auth(d.token('client')), 'idempotency-key': 'has space' }],
    ];
    for (const [path, body, headers] of cases) {
      const lean = await post(path, body, headers, false);
      const routed = await post(path, body, headers, true);
      const what = `${path} ${body} ${JSON.stringify(headers)}`;
      expect(lean.status, what).toBeGreaterThanOrEqual(400);
      expect(lean.status, what).toBe(routed.status);
      expect(lean.text, what).toBe(routed.text);
      expect(kept(lean.headers), what).toEqual(kept(routed.headers));
    }
  });

  it('a task and its idempotent replay: the same answer either way', async () => {
    const h = { ...auth(d.token('client')), 'idempotency-key': 'lean-k1' };
    const first = await post('/v1/tasks?waitMs=10000', task('k1'), h, false);
    expect(first.status).toBe(200);
    const again = await post('/v1/tasks?waitMs=10000', task('k1'), h, true);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const thrice = await post('/v1/tasks?waitMs=10000', task('k1'), h, false);
    expect(thrice.text).toBe(first.text);
    expect(kept(thrice.headers)).toEqual(kept(again.headers));
    expect(kept(first.headers)).toEqual({ ...kept(again.headers), replayed: undefined });

    const lean = JSON.parse((await post('/v1/tasks?waitMs=10000', task('x'), auth(d.token('client')), false)).text);
    const routed = JSON.parse((await post('/v1/tasks?waitMs=10000', task('x'), auth(d.token('client')), true)).text);
    expect(Object.keys(lean)).toEqual(Object.keys(routed));
    expect(lean).toMatchObject({ state: 'succeeded', value: routed.value });
    const accepted = await post('/v1/tasks', task('y'), auth(d.token('client')), false);
    expect(accepted.status).toBe(202);
  });
});
