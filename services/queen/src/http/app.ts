import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { leanSubmit, type LeanHandler } from './lean-submit.js';
import { installAuth, type AuthDeps } from './auth.js';
import { errorHandler } from './errors.js';
import { registerTaskRoutes, type TaskRouteDeps } from './routes-tasks.js';
import { registerColonyRoutes, type ColonyRouteDeps } from './routes-colony.js';
import { registerEventRoutes } from './routes-events.js';
import { registerFrameRoutes, type FrameRouteDeps } from './routes-frames.js';
import { registerSqlRoutes } from './routes-sql.js';
import { registerUploadRoutes } from './routes-upload.js';
import { registerCellRoutes } from './routes-cells.js';
import { registerTokenRoutes } from './routes-tokens.js';
import type { TokenStore } from '../auth/token-store.js';
import { registerRetentionRoutes, type RetentionRouteDeps } from './routes-retention.js';
import type { QueryRunner } from '../query/query-runner.js';
import { registerMetricsRoutes, type MetricsRouteDeps } from './routes-metrics.js';
import { logRequests } from './request-log.js';
import type { Logger } from '@apiary/runtime';
import { registerDashboardRoutes, type DashboardDeps } from './routes-dashboard.js';
import { DashboardSessions, sessionSource } from './session.js';
import { installRouteSchemas, ROUTE_SCHEMA_CONTROLLER } from './route-schema.js';
import { registerProgressRoutes } from './routes-progress.js';
import { ProgressRegistry } from '../progress/progress-registry.js';

export interface AppDeps extends TaskRouteDeps, ColonyRouteDeps, FrameRouteDeps, AuthDeps, RetentionRouteDeps, MetricsRouteDeps, DashboardDeps {
  maxBodyBytes: number;
  /** Serve https (and wss on the same port) with this certificate; plain http without it. */
  tls?: { cert: string; key: string };
  /** Request lines go here (component queen/http); none when absent (unit tests). */
  log?: Logger;
  /** Scoped tokens: verified by auth, managed under /v1/admin/tokens. */
  tokens: TokenStore;
  queries: QueryRunner;
}

/** The queen's HTTP API under /v1. Who may call which route: auth.ts and its table, route-scopes.ts. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const opts = { logger: false, bodyLimit: deps.maxBodyBytes, forceCloseConnections: true, schemaController: ROUTE_SCHEMA_CONTROLLER } as const;
  // One instance type either way: the routes and hooks do not care which server carries them.
  const app = (deps.tls ? Fastify({ ...opts, https: { cert: deps.tls.cert, key: deps.tls.key } }) : Fastify(opts)) as unknown as FastifyInstance;
  // The plain POST /v1/tasks is answered before fastify sees it (lean-submit.ts; set once the routes are).
  let lean: LeanHandler = () => false;
  // Wrapped on fastify's own server rather than through a serverFactory: with a factory, fastify does not
  // add its second server for the other loopback address when the host is 'localhost'. Requests on that
  // second server go to fastify directly, answered the same.
  const server = app.server as http.Server;
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (listeners.length !== 1) throw new Error(`fastify's server has ${listeners.length} request listeners, expected its one`);
  const fastifyHandler = listeners[0]!;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!lean(req, res)) fastifyHandler(req, res);
  });
  installRouteSchemas(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ code: 'BAD_REQUEST', message: `no route ${req.method} ${req.url}` });
  });
  if (deps.log) logRequests(app, deps.log);
  // The dashboard's session cookie is one more credential source, asked after the bearer header.
  const sessions = new DashboardSessions();
  const authorize = installAuth(app, { ...deps, sources: [...(deps.sources ?? []), sessionSource(sessions)] });
  registerTaskRoutes(app, deps);
  lean = leanSubmit(app, deps, authorize);
  registerColonyRoutes(app, deps);
  registerEventRoutes(app, deps);
  // Writes, uploads and queries that send x-apiary-request-id report here (GET /v1/progress/:id).
  const progress = new ProgressRegistry();
  registerFrameRoutes(app, deps, progress);
  registerSqlRoutes(app, deps, progress);
  registerUploadRoutes(app, deps, progress);
  registerProgressRoutes(app, { progress });
  registerCellRoutes(app, deps);
  registerTokenRoutes(app, deps, (id) => sessions.endFor(id));
  registerRetentionRoutes(app, deps);
  registerMetricsRoutes(app, deps);
  registerDashboardRoutes(app, deps, sessions);
  return app;
}
