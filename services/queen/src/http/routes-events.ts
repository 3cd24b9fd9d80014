import type { FastifyInstance } from 'fastify';
import type { TaskEvent } from '@apiary/protocol';
import type { Scheduler } from '../tasks/scheduler.js';

const KEEPALIVE_MS = 15_000;

/**
 * GET /v1/events: a server-sent event stream of task state changes (`event: task`), optionally for
 * one task (?task=ID). Comment lines keep idle proxies from closing the stream.
 */
export function registerEventRoutes(app: FastifyInstance, deps: { scheduler: Scheduler }): void {
  // No HEAD twin: a HEAD answer has no body, so Node would hold the headers until an end that never comes.
  app.get<{ Querystring: { task?: string } }>('/v1/events', { exposeHeadRoute: false }, (req, reply) => {
    const only = req.query.task;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': apiary task events\n\n');
    const off = deps.scheduler.onChange((t) => {
      if (only && t.id !== only) return;
      const ev: TaskEvent = { id: t.id, state: t.state, attempt: t.attempts.length, error: t.error, at: Date.now() };
      res.write(`event: task\ndata: ${JSON.stringify(ev)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), KEEPALIVE_MS);
    res.on('close', () => {
      off();
      clearInterval(ping);
    });
  });
}
