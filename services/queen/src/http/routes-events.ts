import type { FastifyInstance } from 'fastify';
import { EventsQuery, type TaskEvent, type TaskOutputEvent } from '@apiary/protocol';
import { part, type ZodTypeProvider } from './route-schema.js';
import type { TaskRecord } from '../tasks/ledger.js';
import type { Scheduler } from '../tasks/scheduler.js';
import type { TaskOutputs } from '../tasks/task-output.js';

const KEEPALIVE_MS = 15_000;

/**
 * GET /v1/events: a server-sent event stream of task state changes (`event: task`), optionally for
 * one task (?task=ID). Comment lines keep idle proxies from closing the stream.
 * For one task the stream also carries its output (`event: output`, TaskOutputEvent), and starts
 * with what its running attempt printed so far and its current state, so a client that subscribes
 * just after submitting misses nothing; the output of an attempt always comes before the state
 * change its result causes.
 */
export function registerEventRoutes(app: FastifyInstance, deps: { scheduler: Scheduler; outputs: TaskOutputs; get(id: string): TaskRecord | undefined }): void {
  // No HEAD twin: a HEAD answer has no body, so Node would hold the headers until an end that never comes.
  const schema = {
    summary: 'Server-sent events: `event: task` per state change (TaskEvent); for one task also `event: output` (TaskOutputEvent)',
    querystring: part(EventsQuery, 'query'),
    produces: { 200: { type: 'text/event-stream', description: 'TaskEvent and TaskOutputEvent records' } },
  };
  app.withTypeProvider<ZodTypeProvider>().get('/v1/events', { schema, exposeHeadRoute: false }, (req, reply) => {
    const only = req.query.task;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': apiary task events\n\n');
    const taskEvent = (t: TaskRecord) => {
      const ev: TaskEvent = { id: t.id, state: t.state, attempt: t.attempts.length, error: t.error, at: Date.now() };
      res.write(`event: task\ndata: ${JSON.stringify(ev)}\n\n`);
    };
    const outputEvent = (ev: TaskOutputEvent) => res.write(`event: output\ndata: ${JSON.stringify(ev)}\n\n`);
    let offOutput = () => {};
    if (only) {
      const soFar = deps.outputs.current(only);
      if (soFar) outputEvent(soFar);
      const now = deps.get(only);
      if (now) taskEvent(now);
      offOutput = deps.outputs.onOutput((ev) => ev.id === only && outputEvent(ev));
    }
    const off = deps.scheduler.onChange((t) => {
      if (only && t.id !== only) return;
      taskEvent(t);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), KEEPALIVE_MS);
    res.on('close', () => {
      offOutput();
      off();
      clearInterval(ping);
    });
  });
}
