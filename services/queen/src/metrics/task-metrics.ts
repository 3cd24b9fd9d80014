import { Counter, Histogram, type Registry } from 'prom-client';
import { isErrorCode } from '@apiary/protocol';

/** What the scheduler reports as tasks move; called on the hot path, so each call is a map lookup and an add. */
export interface TaskObserver {
  /** A task reached a terminal state; lastAttemptMs is the run time of its last attempt (null if it never ran). */
  finished(kind: string, outcome: string, lastAttemptMs: number | null): void;
  /** One attempt ended: 'OK' when it succeeded, else its error code. */
  attemptEnded(code: string): void;
}

/** Run times from a 10 ms SQL probe to a long job (the default task timeout is 30 s; a task may set more). */
export const DURATION_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/** Labelled children are made once per label value and kept: prom-client hashes the labels on every `inc({..})`. */
class Children<T> {
  readonly #byKey = new Map<string, T>();
  constructor(private readonly make: (key: string) => T) {}
  get(key: string): T {
    let c = this.#byKey.get(key);
    if (c === undefined) {
      c = this.make(key);
      this.#byKey.set(key, c);
    }
    return c;
  }
}

/**
 * The task counters: `apiary_tasks_total{kind,outcome}`, `apiary_task_duration_seconds{kind}` and
 * `apiary_task_attempts_total{code}`. Label values come from closed sets (task kinds, terminal
 * states, the error table): a code outside the table is counted as UNKNOWN, so a hive cannot
 * grow the series count.
 */
export function taskMetrics(register: Registry): TaskObserver {
  const tasks = new Counter({
    name: 'apiary_tasks_total',
    help: 'Tasks that reached a terminal state, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    registers: [register],
  });
  const duration = new Histogram({
    name: 'apiary_task_duration_seconds',
    help: 'Run time of the last attempt of each finished task, by kind.',
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS_S,
    registers: [register],
  });
  const attempts = new Counter({
    name: 'apiary_task_attempts_total',
    help: "Attempts that ended, by outcome code ('OK' or the error code).",
    labelNames: ['code'],
    registers: [register],
  });
  const byKind = new Children((kind) => ({ outcomes: new Children((outcome) => tasks.labels(kind, outcome)), duration: duration.labels(kind) }));
  const byCode = new Children((code) => attempts.labels(code));
  return {
    finished(kind, outcome, lastAttemptMs) {
      const k = byKind.get(kind);
      k.outcomes.get(outcome).inc();
      if (lastAttemptMs !== null) k.duration.observe(lastAttemptMs / 1000);
    },
    attemptEnded(code) {
      byCode.get(code === 'OK' || isErrorCode(code) ? code : 'UNKNOWN').inc();
    },
  };
}
