#!/usr/bin/env node
// Generate specs/openapi.json from the protocol's zod schemas, so the API document cannot drift
// from what the queen validates. `node scripts/openapi.mjs --check` exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import * as P from '@apiary/protocol';

const out = fileURLToPath(new URL('../specs/openapi.json', import.meta.url));
const schema = (s) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (s) => ({ content: { 'application/json': { schema: schema(s) } } });
const error = (description) => ({ description, ...json(P.WireErrorSchema) });
const errors = {
  400: error('BAD_REQUEST: malformed JSON or a body that does not match the schema'),
  401: error('AUTH_FAILED: missing, wrong or revoked bearer token'),
  403: error('FORBIDDEN: the token is valid but its scope does not reach this route (see specs/security.md)'),
  413: error('PAYLOAD_TOO_LARGE: body over the limit (10 MiB by default)'),
  503: error('QUEEN_DRAINING, or COLONY_CRITICAL with a Retry-After header'),
};
const waitParam = {
  name: 'waitMs',
  in: 'query',
  schema: { type: 'integer', minimum: 0, maximum: 60000 },
  description: 'long-poll: hold the response until the task is terminal or this many ms pass',
};
const frameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: P.FRAME_NAME.source } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const idempotencyParam = {
  name: 'Idempotency-Key',
  in: 'header',
  schema: { type: 'string', pattern: P.IDEMPOTENCY_KEY.source },
  description: `a retry with the same key and body (same token, within ${P.IDEMPOTENCY_RETENTION_MS / 3_600_000} h) gets the first request's task(s), with header Idempotent-Replayed: true`,
};
const reused = error('IDEMPOTENCY_KEY_REUSED: this key was used with another request');
const admin = (o) => ({ ...o, description: `${o.description ?? ''}Needs scope admin.`.trim() });

const doc = {
  openapi: '3.1.0',
  info: { title: 'apiary queen API', version: '1', description: 'Generated from shared/protocol by scripts/openapi.mjs. Do not edit by hand.' },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths: {
    '/v1/health': { get: { security: [], summary: 'Liveness; the only route without a token', responses: { 200: { description: '{ ok, state, pid }' } } } },
    '/v1/tasks': {
      post: {
        summary: 'Submit one task',
        parameters: [waitParam, idempotencyParam],
        requestBody: json(P.SubmitTask),
        responses: {
          200: { description: 'terminal (with waitMs)', ...json(P.TaskView) },
          202: { description: 'accepted', ...json(P.TaskView) },
          ...errors,
          422: reused,
        },
      },
      get: {
        summary: 'Recent tasks, newest first',
        parameters: [
          { name: 'state', in: 'query', schema: schema(P.TaskState) },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        ],
        responses: { 200: { description: '{ tasks: TaskView[] }' }, 401: errors[401] },
      },
    },
    '/v1/tasks/batch': {
      post: {
        summary: 'Submit up to 10,000 tasks in one transaction',
        parameters: [idempotencyParam],
        requestBody: json(P.SubmitBatch),
        responses: { 202: { description: 'accepted', ...json(P.BatchAccepted) }, ...errors, 422: reused },
      },
    },
    '/v1/tasks/wait': {
      post: { summary: 'Wait for many tasks', requestBody: json(P.WaitMany), responses: { 200: { description: '{ tasks: TaskView[] }' }, ...errors } },
    },
    '/v1/tasks/{id}': {
      get: {
        summary: 'One task: state, attempts, result',
        parameters: [idParam, waitParam],
        responses: { 200: json(P.TaskView), 404: error('TASK_NOT_FOUND') },
      },
      delete: { summary: 'Cancel (idempotent)', parameters: [idParam], responses: { 200: json(P.TaskView), 404: error('TASK_NOT_FOUND') } },
    },
    '/v1/events': {
      get: {
        summary: 'Server-sent events: `event: task` per state change',
        parameters: [{ name: 'task', in: 'query', schema: { type: 'string' } }],
        responses: { 200: { description: 'text/event-stream of TaskEvent', content: { 'text/event-stream': { schema: schema(P.TaskEvent) } } } },
      },
    },
    '/v1/colony': { get: { summary: 'Queen, temperature, hives and bees', responses: { 200: json(P.ColonyView), 401: errors[401] } } },
    '/v1/hives': { get: { summary: 'Connected hives', responses: { 200: { description: '{ hives: HiveView[] }' }, 401: errors[401] } } },
    '/v1/nodes': { get: { summary: "The cluster's node registry", responses: { 200: { description: '{ nodes: NodeRecord[] }' }, 401: errors[401] } } },
    '/v1/nodes/{name}': {
      put: {
        summary: 'Record a host (keeper cluster up)',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json(P.NodeRecord),
        responses: { 200: json(P.NodeRecord), ...errors },
      },
    },
    '/v1/hives/{name}/shutdown': {
      post: {
        summary: 'Stop one hive (keeper cluster down)',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json(P.StopHiveRequest),
        responses: { 202: { description: 'stopping' }, 404: error('HIVE_LOST: no such hive connected') },
      },
    },
    '/v1/sql': {
      post: {
        summary: 'SQL, over frames or not: planned by the queen, run by bees (explain only plans; into writes a frame)',
        requestBody: json(P.SqlRequest),
        responses: { 200: json(P.SqlResponse), ...errors },
      },
    },
    '/v1/frames/{name}/upload': {
      put: {
        summary: 'Write the request body (a csv, parquet or json file) as the next version of a frame',
        parameters: [
          { name: 'maxAttempts', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 20 } },
          { name: 'timeoutMs', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'format', in: 'query', required: true, schema: { type: 'string', enum: ['csv', 'parquet', 'json'] } },
          { name: 'mode', in: 'query', schema: { type: 'string', enum: ['append', 'overwrite'] } },
          { name: 'partitionBy', in: 'query', schema: { type: 'string' } },
        ],
        requestBody: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: { 200: { description: 'the write result (see WriteResponse)' }, ...errors },
      },
    },
    '/v1/cells/{path}': {
      get: {
        summary: 'A cell or query partial under the data root, for remote hives (join token)',
        parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: { description: 'the Parquet file', content: { 'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } } } },
          404: error('FRAME_NOT_FOUND'),
        },
      },
      put: {
        summary: 'A query partial or result sent back by a remote hive (join token)',
        parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 201: { description: 'stored' }, ...errors },
      },
    },
    '/v1/admin/tokens': {
      post: admin({
        summary: 'Create a scoped token; the secret is in this response only',
        requestBody: json(P.CreateTokenRequest),
        responses: { 201: json(P.CreatedToken), ...errors },
      }),
      get: admin({ summary: 'Tokens not revoked (never their secrets)', responses: { 200: json(P.TokenList), ...errors } }),
    },
    '/v1/admin/tokens/{id}': {
      delete: admin({ summary: 'Revoke a token', parameters: [idParam], responses: { 200: json(P.TokenInfo), 404: error('TOKEN_NOT_FOUND'), ...errors } }),
    },
    '/v1/admin/routes': {
      get: admin({ summary: 'Every route this queen serves and the scope it needs', responses: { 200: json(P.RouteTable), ...errors } }),
    },
    '/v1/admin/shutdown': {
      post: {
        summary: 'Graceful stop: drain, grace period, cascade',
        requestBody: json(P.ShutdownRequest),
        responses: { 202: { description: 'stopping' }, 401: errors[401] },
      },
    },
    '/v1/admin/prune': {
      post: {
        summary: 'Delete finished tasks past the retention policy now (rows, attempts, output, result files); admin scope',
        requestBody: json(P.PruneRequest),
        responses: { 200: { description: 'pruned', ...json(P.PruneResponse) }, 400: errors[400], 401: errors[401] },
      },
    },
    '/v1/frames': {
      get: {
        summary: 'Frames: current version, versions, rows, cells, bytes',
        responses: { 200: { description: '{ frames: FrameSummary[] }' }, 401: errors[401] },
      },
    },
    '/v1/frames/{name}': {
      get: {
        summary: "A frame's schema, per-column stats, cells and version history",
        parameters: [frameParam],
        responses: { 200: json(P.FrameDetail), 400: error('FRAME_NAME_INVALID'), 404: error('FRAME_NOT_FOUND') },
      },
      delete: {
        summary: 'Drop a frame: catalog entries and cell files',
        parameters: [frameParam],
        responses: { 200: { description: '{ frame, cells_deleted }' }, 400: error('FRAME_NAME_INVALID'), 404: error('FRAME_NOT_FOUND') },
      },
    },
    '/v1/frames/{name}/write': {
      post: {
        summary: 'Write files (path or glob on the queen machine) as the next version of a frame; waits for the write',
        parameters: [frameParam],
        requestBody: json(P.WriteRequest),
        responses: {
          200: json(P.WriteResponse),
          400: error('BAD_REQUEST, FRAME_NAME_INVALID, INPUT_NOT_FOUND or SQL_ERROR (unreadable input)'),
          409: error('FRAME_SCHEMA_MISMATCH: an append with other columns'),
          503: error('COLONY_HOT (stayed hot for the whole wait), QUEEN_DRAINING or NO_HIVES; Retry-After when retryable'),
          500: error('TASK_ABANDONED, BEE_CRASHED, … : a write task failed; no version was recorded'),
        },
      },
    },
    '/v1/hive': {
      get: { summary: 'WebSocket upgrade for hives (see specs/protocol.md)', security: [], responses: { 101: { description: 'switching protocols' } } },
    },
    '/': {
      get: {
        security: [],
        summary: 'The web dashboard page (static; its data needs a session, see specs/dashboard.md)',
        responses: { 200: { description: 'text/html' } },
      },
    },
    '/v1/dashboard/codes': {
      post: {
        summary: 'A one-time dashboard login code (60 s, single use) for the caller (keeper dashboard)',
        responses: { 200: json(P.DashboardCode), 401: errors[401], 403: error('FORBIDDEN: a dashboard session cannot mint codes') },
      },
    },
    '/v1/dashboard/session': {
      post: {
        security: [],
        summary: 'Exchange a one-time code for the HttpOnly SameSite=Strict session cookie (needs the x-apiary-dashboard: 1 header)',
        requestBody: json(P.DashboardLogin),
        responses: {
          200: json(P.DashboardSessionView),
          401: error('AUTH_FAILED: code unknown, used or expired'),
          403: error('FORBIDDEN: no x-apiary-dashboard header, or another origin'),
        },
      },
      get: { summary: "The cookie's session: what the page may do", responses: { 200: json(P.DashboardSessionView), 401: errors[401] } },
      delete: { summary: 'Log out: end the session and clear the cookie', responses: { 200: { description: '{ ok: true }' }, 401: errors[401] } },
    },
    '/v1/colony/history': {
      get: {
        summary: 'The last 10 minutes of colony samples (every 5 s): queue depth, running, tasks finished, temperature',
        responses: { 200: json(P.ColonyHistoryView), 401: errors[401] },
      },
    },
  },
};

const text = JSON.stringify(doc, null, 2) + '\n';
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('specs/openapi.json is out of date: run `npm run openapi`');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
