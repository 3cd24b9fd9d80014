import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Scheduler } from '../tasks/scheduler.js';
import { colonyMetrics, type ColonySource } from './colony-metrics.js';
import { taskMetrics } from './task-metrics.js';

/**
 * The queen's Prometheus registry (its own, not prom-client's global one): the task counters fed by
 * the scheduler, the colony gauges read at scrape time, and prom-client's default process metrics
 * (CPU, RSS, heap, event-loop lag, handles) of the queen process. Names: specs/metrics.md.
 */
export class QueenMetrics {
  readonly register = new Registry();

  constructor(scheduler: Scheduler, colony: ColonySource) {
    collectDefaultMetrics({ register: this.register });
    scheduler.observer = taskMetrics(this.register);
    colonyMetrics(this.register, colony);
  }

  get contentType(): string {
    return this.register.contentType;
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.register.metrics();
  }
}
