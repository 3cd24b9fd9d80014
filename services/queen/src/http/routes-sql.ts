import type { FastifyInstance } from 'fastify';
import { SqlRequest, SqlResponse, WireErrorSchema } from '@apiary/protocol';
import type { QueryRunner } from '../query/query-runner.js';
import { openResultStream } from '../query/result-stream.js';
import { requireScope } from './auth.js';
import { satisfies } from './route-scopes.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';
import type { ProgressRegistry } from '../progress/progress-registry.js';
import { followRequest } from './routes-progress.js';

/** POST /v1/sql: run SQL (over frames or not) and answer with its rows; ?explain only plans. */
export function registerSqlRoutes(
  app: FastifyInstance,
  deps: { queries: QueryRunner; frames: { dataRoot: string }; admit(): void },
  registry: ProgressRegistry,
): void {
  const schema = {
    summary: 'SQL, over frames or not: planned by the queen, run by bees (explain only plans; into writes a frame)',
    body: part(SqlRequest, 'sql request'),
    response: { 200: SqlResponse, 503: described(WireErrorSchema, 'QUEEN_DRAINING, or COLONY_CRITICAL with a Retry-After header') },
  };
  // Admission comes before validation: a draining queen says so whatever the body.
  const preValidation = async () => deps.admit();
  app.withTypeProvider<ZodTypeProvider>().post('/v1/sql', { schema, preValidation }, async (req, reply) => {
    const body = req.body;
    // Reading is the read scope's; `into` writes a frame, which is submit's (route-scopes.ts).
    if (body.into !== undefined) requireScope(req.principal, 'submit', 'POST /v1/sql with "into" (it writes a frame)');
    const ac = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    const opts = {
      explain: body.explain,
      limits: body.limits,
      signal: ac.signal,
      into: body.into,
      intoMode: body.intoMode,
      sandboxOnly: !satisfies(req.principal?.scope ?? 'read', 'submit'),
      // Reading a query's progress needs what the query needed: submit when it writes a frame.
      progress: followRequest(registry, req, reply, 'query', body.into === undefined ? 'read' : 'submit'),
    };
    // ndjson/csv stream the rows (result-stream.ts); explain and into answer with JSON whatever the format.
    const format = body.format ?? 'json';
    if (format !== 'json' && !body.explain && body.into === undefined) {
      const stream = await openResultStream(deps.queries, deps.frames.dataRoot, body.sql, opts, format);
      reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      // A stream is sent as it is: the 200 schema (SqlResponse) applies to the JSON answer only.
      return reply.send(stream as never);
    }
    return deps.queries.run(body.sql, opts);
  });
}
