import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameParams, frameNameError, IdempotencyHeaders, ShutdownRequest, SubmitBatch } from '@apiary/protocol';
import { errorHandler } from '../src/http/errors.js';
import { installRouteSchemas, part, routeDocs, type ZodTypeProvider } from '../src/http/route-schema.js';
import { idempotencyHeaders } from '../src/http/routes-tasks.js';

/** A real fastify app with the zod compilers and the queen's error handler, one route per case. */
function app() {
  const a = Fastify();
  installRouteSchemas(a);
  a.setErrorHandler(errorHandler);
  return a;
}

describe('route schemas from the protocol', () => {
  let a: ReturnType<typeof app> | undefined;
  afterEach(async () => {
    await a?.close();
    a = undefined;
  });

  it("a body off the schema is 400 BAD_REQUEST 'invalid <what> at <path>'; a valid one reaches the handler parsed, defaults applied", async () => {
    a = app();
    a.withTypeProvider<ZodTypeProvider>().post('/b', { schema: { body: part(SubmitBatch, 'batch') } }, async (req) => req.body.tasks[0]);
    const bad = await a.inject({ method: 'POST', url: '/b', payload: { tasks: [] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^invalid batch at tasks: /) });
    const ok = await a.inject({ method: 'POST', url: '/b', payload: { tasks: [{ spec: { kind: 'sql', sql: 'SELECT 1' } }] } });
    expect(ok.statusCode).toBe(200);
    // limits was absent: the handler sees the schema's default.
    expect(ok.json().limits).toEqual({});
  });

  it('an optional body (emptyAs) may be absent; its defaults apply', async () => {
    a = app();
    const body = part(ShutdownRequest, { what: 'shutdown request', emptyAs: {} });
    a.withTypeProvider<ZodTypeProvider>().post('/s', { schema: { body } }, async (req) => req.body);
    expect((await a.inject({ method: 'POST', url: '/s' })).json()).toEqual({ keepHives: false });
  });

  it('a part with its own error keeps it (FRAME_NAME_INVALID), and params are checked before the body', async () => {
    a = app();
    const params = part(FrameParams, { what: 'frame name', error: (p) => frameNameError((p as { name: string }).name) });
    a.withTypeProvider<ZodTypeProvider>().post('/f/:name', { schema: { params, body: part(SubmitBatch, 'batch') } }, async () => ({}));
    const r = await a.inject({ method: 'POST', url: '/f/Bad-Name', payload: {} });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(frameNameError('Bad-Name').toWire());
  });

  it('a headers schema checks without replacing the headers (the rest stay for auth and the handler)', async () => {
    a = app();
    const headers = part(IdempotencyHeaders, 'headers');
    a.get('/h', { schema: { headers } }, async (req) => ({ auth: req.headers.authorization ?? null }));
    const ok = await a.inject({ method: 'GET', url: '/h', headers: { authorization: 'Bearer x', 'idempotency-key': 'k1' } });
    expect(ok.json()).toEqual({ auth: 'Bearer x' });
    const bad = await a.inject({ method: 'GET', url: '/h', headers: { 'idempotency-key': 'has space' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('BAD_REQUEST');
  });

  // The submit routes check the Idempotency-Key header directly instead of a zod parse of every
  // header: it must accept exactly what the documented schema accepts, with the same error.
  it("the submit routes' header check accepts exactly what IdempotencyHeaders accepts, and refuses the rest with idempotencyKeyOf's error", async () => {
    a = app();
    a.get('/h', { schema: { headers: idempotencyHeaders } }, async (req) => ({ auth: req.headers.authorization ?? null }));
    const keys = [undefined, 'k1', 'x'.repeat(255), '!~', 'has space', '', 'x'.repeat(256), 'caf\u00e9', 'tab\there', 'a"b'];
    for (const key of keys) {
      const headers: Record<string, string> = { authorization: 'Bearer x' };
      if (key !== undefined) headers['idempotency-key'] = key;
      const r = await a.inject({ method: 'GET', url: '/h', headers });
      const valid = IdempotencyHeaders.safeParse({ 'idempotency-key': key }).success;
      expect(r.statusCode, JSON.stringify(key)).toBe(valid ? 200 : 400);
      if (valid) expect(r.json()).toEqual({ auth: 'Bearer x' });
      else expect(r.json()).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^Idempotency-Key must be/) });
    }
  });

  it('every route is recorded with its schema (the source of specs/openapi.json), HEAD twins left out', async () => {
    a = app();
    const body = part(ShutdownRequest, 'shutdown request');
    a.post('/x', { schema: { summary: 'x', body } }, async () => ({}));
    a.get('/y', async () => ({}));
    await a.ready();
    expect(routeDocs(a).map((r) => `${r.method} ${r.url}`)).toEqual(['POST /x', 'GET /y']);
    expect(routeDocs(a)[0]!.schema.body).toBe(body);
  });
});
