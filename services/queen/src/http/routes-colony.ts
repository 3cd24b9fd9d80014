import type { FastifyInstance } from 'fastify';
import { ApiaryError, NodeRecord, ShutdownRequest, StopHiveRequest, validate, type ColonyView } from '@apiary/protocol';
import type { NodeStore } from '../nodes/node-registry.js';

export interface ColonyRouteDeps {
  colony(): ColonyView;
  health(): { ok: boolean; state: string; pid: number };
  /** Begin the graceful stop; the response is sent before the server closes. */
  shutdown(keepHives: boolean): void;
  /** Tell one hive (by id or name) to stop; false when no such hive is connected. */
  stopHive(idOrName: string, graceMs: number | undefined): boolean;
  nodes: NodeStore;
}

export function registerColonyRoutes(app: FastifyInstance, deps: ColonyRouteDeps): void {
  app.get('/v1/health', async () => deps.health());
  app.get('/v1/colony', async () => deps.colony());
  app.get('/v1/hives', async () => ({ hives: deps.colony().hives }));
  app.post<{ Params: { hive: string } }>('/v1/hives/:hive/shutdown', async (req, reply) => {
    const { graceMs } = validate(StopHiveRequest, req.body ?? {}, 'stop request');
    if (!deps.stopHive(req.params.hive, graceMs)) throw new ApiaryError('HIVE_NOT_FOUND', `no hive "${req.params.hive}" is connected`);
    return reply.status(202).send({ ok: true });
  });
  app.get('/v1/nodes', async () => ({ nodes: deps.nodes.list() }));
  app.put<{ Params: { name: string } }>('/v1/nodes/:name', async (req) => {
    const n = validate(NodeRecord, req.body, 'node');
    if (n.name !== req.params.name) throw new ApiaryError('BAD_REQUEST', `node name ${n.name} does not match the URL (${req.params.name})`);
    deps.nodes.upsert(n);
    return n;
  });
  app.post('/v1/admin/shutdown', async (req, reply) => {
    const { keepHives } = validate(ShutdownRequest, req.body ?? {}, 'shutdown request');
    setImmediate(() => deps.shutdown(keepHives));
    return reply.status(202).send({ ok: true, keepHives });
  });
}
