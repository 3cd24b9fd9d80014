import type { TaskValue, WireError } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { TaskObserver } from '../metrics/task-metrics.js';
import type { AttemptDeadlines } from './attempt-deadlines.js';
import { afterFailure } from './failure-policy.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import type { TaskWaiters } from './task-waiters.js';
import { moveTask } from './task-states.js';

const NO_OBSERVER: TaskObserver = { finished() {}, attemptEnded() {} };

/** What an outcome needs from the rest of the scheduler. */
export interface OutcomeHost {
  /** The task holds no attempt to reclaim after a restart any more (Recovery.settled). */
  settled(taskId: string): void;
  /** A failed attempt that may be retried goes back in the queue. */
  requeue(taskId: string): void;
}

/**
 * How a task's attempts end and how the task ends: the ledger record, deadlines, metrics, change
 * events and waiters, in that order. A failed attempt either ends the task (failure-policy.ts) or
 * puts it back in the queue.
 */
export class Outcomes {
  /** Metrics: told of every attempt end and terminal state (no-op until the queen sets one). */
  observer: TaskObserver = NO_OBSERVER;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly deadlines: AttemptDeadlines,
    private readonly waiters: TaskWaiters,
    private readonly host: OutcomeHost,
    private readonly log: Logger,
  ) {}

  attemptFailed(taskId: string, attempt: number, error: WireError, durationMs: number): void {
    const t = this.ledger.get(taskId);
    const a = t?.attempts[attempt - 1];
    if (!t || !a || t.state !== 'running' || t.attempts.length !== attempt) return;
    this.deadlines.end(taskId);
    a.error = error;
    a.durationMs = durationMs;
    this.observer.attemptEnded(error.code);
    const end = afterFailure(t, attempt, error);
    if (end) {
      this.finish(t, end.state, null, end.error);
    } else {
      this.log.info(`task ${taskId} attempt ${attempt} failed with ${error.code}; retrying`, { task: taskId, code: error.code });
      moveTask(t, 'queued', this.log, error.code);
      this.ledger.update(t);
      this.waiters.changed(t);
      this.host.requeue(taskId);
    }
  }

  finish(t: TaskRecord, state: TaskRecord['state'], value: TaskValue | null, error: WireError | null): void {
    this.host.settled(t.id);
    this.deadlines.end(t.id);
    moveTask(t, state, this.log, error?.code);
    t.value = value;
    t.error = error;
    t.finishedAt = Date.now();
    this.ledger.update(t);
    // The last attempt's run time, if it ended with a result (a cancelled one has none).
    const last = t.attempts.at(-1);
    this.observer.finished(t.spec.kind, state, last && (state === 'succeeded' || last.error !== null) ? last.durationMs : null);
    this.waiters.changed(t);
    this.waiters.finished(t);
  }
}
