import type { FastifyInstance } from 'fastify';
import {
  ApiaryError,
  ColonyView,
  Health,
  HiveList,
  NodeList,
  NodeParams,
  NodeRecord,
  ShutdownRequest,
  Stopping,
  StopHiveRequest,
  WireErrorSchema,
} from '@apiary/protocol';
import { z } from 'zod';
import type { NodeStore } from '../nodes/node-registry.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';

export interface ColonyRouteDeps {
  colony(): ColonyView;
  health(): { ok: boolean; state: string; pid: number };
  /** Begin the graceful stop; the response is sent before the server closes. */
  shutdown(keepHives: boolean): void;
  /** Tell one hive (by id or name) to stop; false when no such hive is connected. */
  stopHive(idOrName: string, graceMs: number | undefined): boolean;
  nodes: NodeStore;
}

export function registerColonyRoutes(fastify: FastifyInstance, deps: ColonyRouteDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/v1/health', { schema: { summary: 'Liveness; the only route without a token', response: { 200: Health } } }, async () => deps.health());
  app.get('/v1/colony', { schema: { summary: 'Queen, temperature, hives and bees', response: { 200: ColonyView } } }, async () => deps.colony());
  app.get('/v1/hives', { schema: { summary: 'Connected hives', response: { 200: HiveList } } }, async () => ({ hives: deps.colony().hives }));
  const stopHive = {
    summary: 'Stop one hive (keeper cluster down)',
    params: z.object({ hive: z.string() }),
    body: part(StopHiveRequest, { what: 'stop request', emptyAs: {} }),
    response: { 202: described(Stopping, 'stopping'), 404: described(WireErrorSchema, 'HIVE_NOT_FOUND: no such hive connected') },
  };
  app.post('/v1/hives/:hive/shutdown', { schema: stopHive }, async (req, reply) => {
    const { graceMs } = req.body;
    if (!deps.stopHive(req.params.hive, graceMs)) throw new ApiaryError('HIVE_NOT_FOUND', `no hive "${req.params.hive}" is connected`);
    return reply.status(202).send({ ok: true });
  });
  app.get('/v1/nodes', { schema: { summary: "The cluster's node registry", response: { 200: NodeList } } }, async () => ({ nodes: deps.nodes.list() }));
  const putNode = { summary: 'Record a host (keeper cluster up)', params: NodeParams, body: part(NodeRecord, 'node'), response: { 200: NodeRecord } };
  app.put('/v1/nodes/:name', { schema: putNode }, async (req) => {
    const n = req.body;
    if (n.name !== req.params.name) throw new ApiaryError('BAD_REQUEST', `node name ${n.name} does not match the URL (${req.params.name})`);
    deps.nodes.upsert(n);
    return n;
  });
  const shutdown = {
    summary: 'Graceful stop: drain, grace period, cascade',
    body: part(ShutdownRequest, { what: 'shutdown request', emptyAs: {} }),
    response: { 202: described(Stopping, 'stopping') },
  };
  app.post('/v1/admin/shutdown', { schema: shutdown }, async (req, reply) => {
    const { keepHives } = req.body;
    setImmediate(() => deps.shutdown(keepHives));
    return reply.status(202).send({ ok: true, keepHives });
  });
}
