import type { FastifyInstance } from 'fastify';
import { PruneRequest, PruneResponse } from '@apiary/protocol';
import { described, part, type ZodTypeProvider } from './route-schema.js';

export interface RetentionRouteDeps {
  /** Prune finished tasks now; unset fields take the configured retention policy. */
  prune(req: PruneRequest): Promise<PruneResponse>;
}

/** POST /v1/admin/prune (`keeper tasks prune`): an explicit retention run. */
export function registerRetentionRoutes(app: FastifyInstance, deps: RetentionRouteDeps): void {
  const schema = {
    summary: 'Delete finished tasks past the retention policy now (rows, attempts, output, result files)',
    body: part(PruneRequest, { what: 'prune request', emptyAs: {} }),
    response: { 200: described(PruneResponse, 'pruned') },
  };
  app.withTypeProvider<ZodTypeProvider>().post('/v1/admin/prune', { schema }, async (req) => deps.prune(req.body));
}
