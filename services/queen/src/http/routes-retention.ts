import type { FastifyInstance } from 'fastify';
import { PruneRequest, type PruneResponse, validate } from '@apiary/protocol';

export interface RetentionRouteDeps {
  /** Prune finished tasks now; unset fields take the configured retention policy. */
  prune(req: PruneRequest): Promise<PruneResponse>;
}

/** POST /v1/admin/prune (`keeper tasks prune`): an explicit retention run. */
export function registerRetentionRoutes(app: FastifyInstance, deps: RetentionRouteDeps): void {
  app.post('/v1/admin/prune', async (req) => deps.prune(validate(PruneRequest, req.body ?? {}, 'prune request')));
}
