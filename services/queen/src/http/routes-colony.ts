import type { FastifyInstance } from 'fastify';
import type { ColonyView } from '@apiary/protocol';

export interface ColonyRouteDeps {
  colony(): ColonyView;
  health(): { ok: boolean; state: string; pid: number };
}

export function registerColonyRoutes(app: FastifyInstance, deps: ColonyRouteDeps): void {
  app.get('/v1/health', async () => deps.health());
  app.get('/v1/colony', async () => deps.colony());
  app.get('/v1/hives', async () => deps.colony().hives);
}
