import type { FastifyInstance } from 'fastify';
import { ShutdownRequest, validate, type ColonyView } from '@apiary/protocol';

export interface ColonyRouteDeps {
  colony(): ColonyView;
  health(): { ok: boolean; state: string; pid: number };
  /** Begin the graceful stop; the response is sent before the server closes. */
  shutdown(keepHives: boolean): void;
}

export function registerColonyRoutes(app: FastifyInstance, deps: ColonyRouteDeps): void {
  app.get('/v1/health', async () => deps.health());
  app.get('/v1/colony', async () => deps.colony());
  app.get('/v1/hives', async () => ({ hives: deps.colony().hives }));
  app.post('/v1/admin/shutdown', async (req, reply) => {
    const { keepHives } = validate(ShutdownRequest, req.body ?? {}, 'shutdown request');
    setImmediate(() => deps.shutdown(keepHives));
    return reply.status(202).send({ ok: true, keepHives });
  });
}
