import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '@apiary/runtime';
import { httpStatus, retryAfterOf, wireOf } from './errors.js';
import { logLine } from './request-log.js';
import { validatorCompiler } from './route-schema.js';
import { submitOne, submitSchema, type SubmitCall, type TaskRouteDeps } from './routes-tasks.js';
import type { Principal } from './auth.js';

/*
 * POST /v1/tasks, the lone task's route, answered from node:http directly: fastify's request path
 * (routing, hook runners, content-type parser, reply) was ~110 µs of the queen's CPU per request
 * warm and ~210 µs cold, against ~0.35 ms for a whole bare node:http POST (issue 10). Fastify still
 * owns the route: its schema, the API document, and every request this path does not take. Each
 * step is the function fastify's route runs, in fastify's order: auth (installAuth's check), body
 * (fastify's own JSON parser), admission, validation of body, query and headers (the route's
 * compiled parts), submitOne, then errors through wireOf as fastify's error handler words them, and
 * the request line (logLine). Only the plain request is taken, decided before its body is read;
 * anything else (other content types, no or a too large Content-Length, chunked, other query
 * parameters, a closing server) goes to fastify, which answers it as it always did.
 */

/** `/v1/tasks` with no query or only `waitMs=<digits>` (fastify's query parser would agree). */
const URL_RE = /^\/v1\/tasks(?:\?waitMs=(\d{1,10}))?$/;
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface LeanSubmitDeps extends TaskRouteDeps {
  maxBodyBytes: number;
  log?: Logger;
}

/** A request handler that answers the plain POST /v1/tasks and returns true, or returns false (fastify's). */
export type LeanHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function leanSubmit(app: FastifyInstance, deps: LeanSubmitDeps, authorize: (req: FastifyRequest) => void): LeanHandler {
  const validateBody = validatorCompiler({ schema: submitSchema.body, httpPart: 'body' });
  const validateQuery = validatorCompiler({ schema: submitSchema.querystring, httpPart: 'querystring' });
  const validateHeaders = validatorCompiler({ schema: submitSchema.headers, httpPart: 'headers' });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  return (req, res) => {
    if (req.method !== 'POST' || closing) return false;
    const url = req.url ?? '';
    const m = URL_RE.exec(url);
    if (!m) return false;
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!JSON_TYPES.has(h['content-type'] ?? '') || h['transfer-encoding'] !== undefined || !(length > 0 && length <= deps.maxBodyBytes)) return false;
    serve(req, res, url, m[1]);
    return true;
  };

  function serve(req: IncomingMessage, res: ServerResponse, url: string, waitMs: string | undefined): void {
    const t0 = performance.now();
    // What the auth check reads of a request (method, headers, the matched route) and where it puts the principal.
    const shim = { method: 'POST', url, headers: req.headers, routeOptions: { url: '/v1/tasks' }, principal: undefined as Principal | undefined };
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { ...headers, 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      if (deps.log) logLine(deps.log, 'POST', url, status, performance.now() - t0, req.socket.remoteAddress, shim.principal);
    };
    const fail = (e: unknown) => {
      const wire = wireOf(e as Parameters<typeof wireOf>[0]);
      const retryAfter = retryAfterOf(wire);
      answer(httpStatus(wire.code), wire, retryAfter === undefined ? undefined : { 'retry-after': retryAfter });
    };
    try {
      authorize(shim as unknown as FastifyRequest);
    } catch (e) {
      fail(e);
      return;
    }
    const chunks: Buffer[] = [];
    // A client gone mid-body: nothing was submitted, and the response's 'close' ends the rest.
    req.on('error', () => {});
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      parseJson(shim as unknown as FastifyRequest, text, (err, parsed) => {
        if (err) fail(err);
        else void handle(parsed);
      });
    });

    async function handle(parsed: unknown): Promise<void> {
      let status: number;
      let view: unknown;
      let replayed = false;
      try {
        deps.admit();
        const body = validateBody(parsed);
        if (body.error) throw body.error;
        const query = validateQuery(waitMs === undefined ? {} : { waitMs });
        if (query.error) throw query.error;
        const headers = validateHeaders(req.headers);
        if (headers.error) throw headers.error;
        const call: SubmitCall = {
          body: body.value as SubmitCall['body'],
          waitMs: (query.value as { waitMs: SubmitCall['waitMs'] }).waitMs,
          headers: req.headers,
          principal: shim.principal,
          raw: res,
          replayed: () => {
            replayed = true;
          },
        };
        ({ status, view } = await submitOne(deps, call));
      } catch (e) {
        fail(e);
        return;
      }
      answer(status, view, replayed ? { 'idempotent-replayed': 'true' } : undefined);
    }
  }
}
