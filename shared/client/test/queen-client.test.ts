import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { QueenClient } from '../src/index.js';

/** A real HTTP server that answers every request with `status` and `body`: a queen off (or on) contract. */
async function serve(status: number, body: unknown): Promise<http.Server> {
  const s = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
const urlOf = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

describe('@apiary/client checks answers against the protocol', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  it('an answer off its route schema is INTERNAL naming the route and field, not a value of the wrong shape', async () => {
    server = await serve(200, { tasks: [{ id: 't1', state: 'exploded' }] });
    const err = await new QueenClient(urlOf(server), 'tok').list().catch((e) => e);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/GET \/v1\/tasks does not match the protocol at tasks\.0\./);
  });

  it('an answer on contract is returned parsed; an error body becomes an ApiaryError with its code', async () => {
    server = await serve(200, { frame: 'f', cells_deleted: 3 });
    expect(await new QueenClient(urlOf(server), 'tok').dropFrame('f')).toEqual({ frame: 'f', cells_deleted: 3 });
    await new Promise((r) => server!.close(r));
    server = await serve(404, { code: 'TASK_NOT_FOUND', message: 'no task t9' });
    await expect(new QueenClient(urlOf(server), 'tok').get('t9')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND', message: 'no task t9' });
  });
});
