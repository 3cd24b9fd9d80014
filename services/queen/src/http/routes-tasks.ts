import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ListQuery, SubmitBatch, SubmitTask, TERMINAL_STATES, validate, WaitMany, WaitQuery } from '@apiary/protocol';
import { IDEMPOTENCY_HEADER, type TaskState, type TaskView } from '@apiary/protocol';
import { toView, type TaskRecord } from '../tasks/ledger.js';
import type { Scheduler } from '../tasks/scheduler.js';
import type { TaskOutputs } from '../tasks/task-output.js';
import { idempotencyKeyOf, requestHash, type Idempotency } from '../tasks/idempotency.js';
import { requireScope } from './auth.js';

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

export function registerTaskRoutes(app: FastifyInstance, deps: TaskRouteDeps): void {
  const { scheduler } = deps;

  // Submit; with ?waitMs the response waits for the result (one round trip for short tasks).
  app.post('/v1/tasks', async (req, reply) => {
    deps.admit();
    const body = validate(SubmitTask, req.body, 'task');
    const { waitMs } = validate(WaitQuery, req.query, 'query');
    const [id] = submitOnce(req, 'POST /v1/tasks', reply, () => [scheduler.submit(body.spec, body.limits)]);
    const done = await scheduler.wait(id!, waitMs, abortOnClose(reply.raw));
    return reply.status(TERMINAL_STATES.has(done.state) ? 200 : 202).send(withOutput(toView(done), deps.outputs));
  });

  // Many tasks in one transaction: the fast path for throughput.
  app.post('/v1/tasks/batch', async (req, reply) => {
    deps.admit();
    const body = validate(SubmitBatch, req.body, 'batch');
    const ids = submitOnce(req, 'POST /v1/tasks/batch', reply, () => scheduler.submitMany(body.tasks));
    return reply.status(202).send({ ids });
  });

  app.post('/v1/tasks/wait', async (req, reply) => {
    const body = validate(WaitMany, req.body, 'wait request');
    const recs = await scheduler.waitMany(body.ids, body.waitMs, abortOnClose(reply.raw));
    return { tasks: recs.map(toView) };
  });

  app.get('/v1/tasks', async (req) => {
    const q = validate(ListQuery, req.query, 'query');
    return { tasks: deps.list(q).map(toView) };
  });

  app.get<{ Params: { id: string } }>('/v1/tasks/:id', async (req, reply) => {
    const { waitMs } = validate(WaitQuery, req.query, 'query');
    return withOutput(toView(await scheduler.wait(req.params.id, waitMs, abortOnClose(reply.raw))), deps.outputs);
  });

  app.delete<{ Params: { id: string } }>('/v1/tasks/:id', async (req) => {
    // A submit token cancels client tasks (sql, js); the queen's own (parts of a frame write or query) need admin.
    const kind = deps.get(req.params.id)?.spec.kind;
    if (kind !== undefined && kind !== 'sql' && kind !== 'js') requireScope(req.principal, 'admin', `cancelling a ${kind} task (the queen's own)`);
    return toView(scheduler.cancel(req.params.id));
  });

  /**
   * Create tasks once per Idempotency-Key (per token): a retry with the same key and body gets the
   * ids of the first request (header Idempotent-Replayed: true) and creates nothing.
   */
  function submitOnce(req: FastifyRequest, route: string, reply: FastifyReply, create: () => TaskRecord[]): string[] {
    const key = idempotencyKeyOf(req.headers[IDEMPOTENCY_HEADER]);
    if (key === undefined) return create().map((r) => r.id);
    const tokenId = req.principal?.tokenId ?? 'none';
    const hash = requestHash(route, req.body);
    const seen = deps.idempotency.replay(tokenId, key, hash);
    if (seen) {
      void reply.header('idempotent-replayed', 'true');
      return seen;
    }
    return deps.idempotency.submit(tokenId, key, hash, create).map((r) => r.id);
  }
}

/** One task's view with each attempt's captured output (lists leave it out: up to 64 KiB per attempt). */
function withOutput(v: TaskView, outputs: TaskOutputs): TaskView {
  const out = outputs.outputs(v.id);
  if (out.size === 0) return v;
  return { ...v, attempts: v.attempts.map((a) => (out.has(a.attempt) ? { ...a, output: out.get(a.attempt)! } : a)) };
}

/** Fires when the response is done or the client went away, so a long-poll never holds a dead waiter. */
function abortOnClose(raw: { once: (e: 'close', f: () => void) => void }): AbortSignal {
  const ac = new AbortController();
  raw.once('close', () => ac.abort());
  return ac.signal;
}
