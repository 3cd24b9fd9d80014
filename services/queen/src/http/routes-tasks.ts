import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError, BatchAccepted, ListQuery, SubmitBatch, SubmitTask, TaskList, TERMINAL_STATES, WaitMany, WaitQuery } from '@apiary/protocol';
import { IDEMPOTENCY_HEADER, IdempotencyHeaders, type TaskState, TaskView, WireErrorSchema } from '@apiary/protocol';
import { z } from 'zod';
import { toView, type TaskRecord } from '../tasks/ledger.js';
import type { Scheduler } from '../tasks/scheduler.js';
import type { WaitSignal } from '../tasks/task-waiters.js';
import type { TaskOutputs } from '../tasks/task-output.js';
import { idempotencyKeyOf, requestHash, type Idempotency } from '../tasks/idempotency.js';
import { requireScope, type Principal } from './auth.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';

export interface TaskRouteDeps {
  scheduler: Scheduler;
  list(q: { state?: TaskState; limit: number }): TaskRecord[];
  /** Throws QUEEN_DRAINING (or another admission error) when new work is refused. */
  admit(): void;
  get(id: string): TaskRecord | undefined;
  idempotency: Idempotency;
  /** Captured task output, added to single-task answers. */
  outputs: TaskOutputs;
}

/** The Idempotency-Key header, worded as idempotencyKeyOf words it, and checked by it (no zod parse of every header). */
export const idempotencyHeaders = part(IdempotencyHeaders, {
  what: 'headers',
  check: (h) => void idempotencyKeyOf((h as Record<string, string | undefined>)[IDEMPOTENCY_HEADER]),
  error: (h) => {
    try {
      idempotencyKeyOf((h as Record<string, string | undefined> | undefined)?.[IDEMPOTENCY_HEADER]);
    } catch (e) {
      return e as Error;
    }
    return new ApiaryError('BAD_REQUEST', 'invalid headers');
  },
});
const reused = described(WireErrorSchema, 'IDEMPOTENCY_KEY_REUSED: this key was used with another request');
const notFound = described(WireErrorSchema, 'TASK_NOT_FOUND');
const refused = described(WireErrorSchema, 'QUEEN_DRAINING, or COLONY_CRITICAL with a Retry-After header');
const TaskParams = z.object({ id: z.string() });

/** POST /v1/tasks's schema: fastify's route and the lean path (lean-submit.ts) validate with these same parts. */
export const submitSchema = {
  summary: 'Submit one task',
  body: part(SubmitTask, 'task'),
  querystring: part(WaitQuery, 'query'),
  headers: idempotencyHeaders,
  response: { 200: described(TaskView, 'terminal (with waitMs)'), 202: described(TaskView, 'accepted'), 422: reused, 503: refused },
};

/** What POST /v1/tasks needs from its request, whichever path read it (fastify's route or lean-submit.ts). */
export interface SubmitCall {
  body: z.output<typeof SubmitTask>;
  waitMs: z.output<typeof WaitQuery>['waitMs'];
  headers: IncomingHttpHeaders;
  principal: Principal | undefined;
  /** The response: its 'close' ends the wait. */
  raw: ServerResponse;
  /** The Idempotency-Key replayed an earlier request: the answer carries Idempotent-Replayed: true. */
  replayed(): void;
}

/** Submit one task (once per Idempotency-Key) and wait up to waitMs for it: the status and view to answer with. */
export async function submitOne(deps: TaskRouteDeps, c: SubmitCall): Promise<{ status: 200 | 202; view: TaskView }> {
  const { scheduler } = deps;
  const printed = deps.outputs.appended;
  let created = false;
  const [id] = submitOnce(deps, c.headers, c.principal, 'POST /v1/tasks', c.body, c.replayed, () => {
    created = true;
    return [scheduler.submit(c.body.spec, c.body.limits)];
  });
  const done = await scheduler.wait(id!, c.waitMs, abortOnClose(c.raw));
  const view = toView(done);
  // Made by this request while no task at all printed: it has no output, so none is looked up.
  const silent = created && deps.outputs.appended === printed;
  return { status: TERMINAL_STATES.has(done.state) ? 200 : 202, view: silent ? view : withOutput(view, deps.outputs) };
}

export function registerTaskRoutes(fastify: FastifyInstance, deps: TaskRouteDeps): void {
  const { scheduler } = deps;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // Admission comes before validation: a draining queen says so whatever the body. A callback
  // hook: no promise and no extra microtask turn per submission.
  const admit = (_req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    try {
      deps.admit();
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  };

  // Submit; with ?waitMs the response waits for the result (one round trip for short tasks). The
  // usual request is answered by lean-submit.ts before fastify sees it, through submitOne too.
  app.post('/v1/tasks', { schema: submitSchema, preValidation: admit }, async (req, reply) => {
    const replayed = () => void reply.header('idempotent-replayed', 'true');
    const r = await submitOne(deps, { body: req.body, waitMs: req.query.waitMs, headers: req.headers, principal: req.principal, raw: reply.raw, replayed });
    return reply.status(r.status).send(r.view);
  });

  // Many tasks in one transaction: the fast path for throughput.
  const batchSchema = {
    summary: 'Submit up to 10,000 tasks in one transaction',
    body: part(SubmitBatch, 'batch'),
    headers: idempotencyHeaders,
    response: { 202: described(BatchAccepted, 'accepted'), 422: reused, 503: refused },
  };
  app.post('/v1/tasks/batch', { schema: batchSchema, preValidation: admit }, async (req, reply) => {
    const body = req.body;
    const replayed = () => void reply.header('idempotent-replayed', 'true');
    const ids = submitOnce(deps, req.headers, req.principal, 'POST /v1/tasks/batch', body, replayed, () => scheduler.submitMany(body.tasks));
    return reply.status(202).send({ ids });
  });

  const waitSchema = { summary: 'Wait for many tasks', body: part(WaitMany, 'wait request'), response: { 200: TaskList } };
  app.post('/v1/tasks/wait', { schema: waitSchema }, async (req, reply) => {
    const body = req.body;
    const recs = await scheduler.waitMany(body.ids, body.waitMs, abortOnClose(reply.raw));
    return { tasks: recs.map(toView) };
  });

  const listSchema = { summary: 'Recent tasks, newest first', querystring: part(ListQuery, 'query'), response: { 200: TaskList } };
  app.get('/v1/tasks', { schema: listSchema }, async (req) => ({ tasks: deps.list(req.query).map(toView) }));

  const getSchema = {
    summary: 'One task: state, attempts, result',
    params: TaskParams,
    querystring: part(WaitQuery, 'query'),
    response: { 200: TaskView, 404: notFound },
  };
  app.get('/v1/tasks/:id', { schema: getSchema }, async (req, reply) => {
    const { waitMs } = req.query;
    return withOutput(toView(await scheduler.wait(req.params.id, waitMs, abortOnClose(reply.raw))), deps.outputs);
  });

  const cancelSchema = { summary: 'Cancel (idempotent)', params: TaskParams, response: { 200: TaskView, 404: notFound } };
  app.delete('/v1/tasks/:id', { schema: cancelSchema }, async (req) => {
    // A submit token cancels client tasks (sql, js); the queen's own (parts of a frame write or query) need admin.
    const kind = deps.get(req.params.id)?.spec.kind;
    if (kind !== undefined && kind !== 'sql' && kind !== 'js') requireScope(req.principal, 'admin', `cancelling a ${kind} task (the queen's own)`);
    return toView(scheduler.cancel(req.params.id));
  });
}

/**
 * Create tasks once per Idempotency-Key (per token): a retry with the same key and body gets the
 * ids of the first request (header Idempotent-Replayed: true, set by `replayed`) and creates nothing.
 */
function submitOnce(
  deps: TaskRouteDeps,
  headers: IncomingHttpHeaders,
  principal: Principal | undefined,
  route: string,
  body: unknown,
  replayed: () => void,
  create: () => TaskRecord[],
): string[] {
  const key = idempotencyKeyOf(headers[IDEMPOTENCY_HEADER]);
  if (key === undefined) return create().map((r) => r.id);
  const tokenId = principal?.tokenId ?? 'none';
  const hash = requestHash(route, body);
  const seen = deps.idempotency.replay(tokenId, key, hash);
  if (seen) {
    replayed();
    return seen;
  }
  return deps.idempotency.submit(tokenId, key, hash, create).map((r) => r.id);
}

/** One task's view with each attempt's captured output (lists leave it out: up to 64 KiB per attempt). */
function withOutput(v: TaskView, outputs: TaskOutputs): TaskView {
  const out = outputs.outputs(v.id);
  if (out.size === 0) return v;
  return { ...v, attempts: v.attempts.map((a) => (out.has(a.attempt) ? { ...a, output: out.get(a.attempt)! } : a)) };
}

/**
 * Fires when the response is done or the client went away, so a long-poll never holds a dead
 * waiter. A listener on the response's own 'close' event, not an AbortController (~15 µs per request).
 */
function abortOnClose(raw: ServerResponse): WaitSignal {
  return {
    addEventListener: (_type, listener) => void raw.once('close', listener),
    removeEventListener: (_type, listener) => void raw.removeListener('close', listener),
  };
}
