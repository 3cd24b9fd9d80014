import type { FastifyInstance } from 'fastify';
import { ApiaryError, ShutdownRequest, StopHiveRequest, validate, type ColonyView } from '@apiary/protocol';

export interface ColonyRouteDeps {
  colony(): ColonyView;
  health(): { ok: boolean; state: string; pid: number };
  /** Begin the graceful stop; the response is sent before the server closes. */
  shutdown(keepHives: boolean): void;
  /** Tell one hive (by id or name) to stop; false when no such hive is connected. */
  stopHive(idOrName: string, graceMs: number | undefined): boolean;
}

export function registerColonyRoutes(app: FastifyInstance, deps: ColonyRouteDeps): void {
  app.get('/v1/health', async () => deps.health());
  app.get('/v1/colony', async () => deps.colony());
  app.get('/v1/hives', async () => ({ hives: deps.colony().hives }));
  app.post<{ Params: { hive: string } }>('/v1/hives/:hive/shutdown', async (req, reply) => {
    const { graceMs } = validate(StopHiveRequest, req.body ?? {}, 'stop request');
    if (!deps.stopHive(req.params.hive, graceMs)) throw new ApiaryError('HIVE_LOST', `no hive "${req.params.hive}" is connected`);
    return reply.status(202).send({ ok: true });
  });
  app.post('/v1/admin/shutdown', async (req, reply) => {
    const { keepHives } = validate(ShutdownRequest, req.body ?? {}, 'shutdown request');
    setImmediate(() => deps.shutdown(keepHives));
    return reply.status(202).send({ ok: true, keepHives });
  });
}
