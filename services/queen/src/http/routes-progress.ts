import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkRequestId, ProgressParams, ProgressView, REQUEST_ID_HEADER, WireErrorSchema, type ProgressView as View } from '@apiary/protocol';
import { NO_PROGRESS, type Progress, type ProgressRegistry } from '../progress/progress-registry.js';
import { requireScope } from './auth.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';

/**
 * The progress of a request that carries `x-apiary-request-id` (a frame write, an upload, a query):
 * followed while its response is open, dropped when it closes. Without the header: NO_PROGRESS.
 * A malformed id is BAD_REQUEST before any work starts.
 */
export function followRequest(registry: ProgressRegistry, req: FastifyRequest, reply: FastifyReply, kind: View['kind'], scope: 'read' | 'submit'): Progress {
  const raw = req.headers[REQUEST_ID_HEADER];
  if (raw === undefined) return NO_PROGRESS;
  const id = checkRequestId(raw);
  const { progress, end } = registry.begin(id, kind, scope);
  // 'close' comes after the last byte of a streamed answer too, or when the client hangs up.
  reply.raw.once('close', end);
  return progress;
}

/** GET /v1/progress/:id: where the request with that id is (route need: read; a write's progress needs submit, as the write). */
export function registerProgressRoutes(fastify: FastifyInstance, deps: { progress: ProgressRegistry }): void {
  const schema = {
    summary: 'How far a running write or frame query that sent x-apiary-request-id is: phase, units done of total, cells',
    params: part(ProgressParams, 'request id'),
    response: {
      200: ProgressView,
      403: described(WireErrorSchema, "FORBIDDEN: a write's progress needs scope submit, as the write"),
      404: described(WireErrorSchema, 'PROGRESS_NOT_FOUND: no running request has that id'),
    },
  };
  fastify.withTypeProvider<ZodTypeProvider>().get('/v1/progress/:id', { schema }, async (req) => {
    const { view, scope } = deps.progress.get(req.params.id);
    requireScope(req.principal, scope, `the progress of a ${view.kind}`);
    return view;
  });
}
