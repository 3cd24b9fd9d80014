import Fastify, { type FastifyInstance } from 'fastify';
import { ApiaryError } from '@apiary/protocol';
import { tokenMatches } from '../tokens.js';
import { errorHandler } from './errors.js';
import { registerTaskRoutes, type TaskRouteDeps } from './routes-tasks.js';
import { registerColonyRoutes, type ColonyRouteDeps } from './routes-colony.js';
import { registerEventRoutes } from './routes-events.js';
import { registerFrameRoutes, type FrameRouteDeps } from './routes-frames.js';
import { registerSqlRoutes } from './routes-sql.js';
import { registerUploadRoutes } from './routes-upload.js';
import { registerCellRoutes } from './routes-cells.js';
import type { QueryRunner } from '../query/query-runner.js';

export interface AppDeps extends TaskRouteDeps, ColonyRouteDeps, FrameRouteDeps {
  clientToken: string;
  /** Hives fetch cells with their join token (GET/PUT /v1/cells/… only). */
  joinToken: string;
  maxBodyBytes: number;
  queries: QueryRunner;
}

/** The queen's HTTP API under /v1. Every route but /v1/health needs the bearer token. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: deps.maxBodyBytes, forceCloseConnections: true });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ code: 'BAD_REQUEST', message: `no route ${req.method} ${req.url}` });
  });
  app.addHook('onRequest', async (req) => {
    if (req.url.split('?')[0] === '/v1/health') return;
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7) : undefined;
    if (req.url.startsWith('/v1/cells/') && tokenMatches(token, deps.joinToken)) return;
    if (!tokenMatches(token, deps.clientToken)) {
      throw new ApiaryError('AUTH_FAILED', token ? 'wrong bearer token' : 'missing bearer token: send Authorization: Bearer <client token>');
    }
  });
  registerTaskRoutes(app, deps);
  registerColonyRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerFrameRoutes(app, deps);
  registerSqlRoutes(app, deps);
  registerUploadRoutes(app, deps);
  registerCellRoutes(app, deps);
  return app;
}
