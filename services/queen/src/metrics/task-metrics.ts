import type { Registry } from 'prom-client';
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

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** One plain number per label set, made on first use: prom-client's own `inc()` re-hashes its labels (a string build) on every call. */
class Cells<T> {
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
  values(): IterableIterator<T> {
    return this.#byKey.values();
  }
}

/** A metric prom-client's registry can expose: it only calls get() at scrape time. */
function register(reg: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]): void {
  reg.registerMetric({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset() {},
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

/**
 * The task counters: `apiary_tasks_total{kind,outcome}`, `apiary_task_duration_seconds{kind}` and
 * `apiary_task_attempts_total{code}`, kept as plain numbers and turned into exposition text only
 * when scraped. Label values come from closed sets (task kinds, terminal states, the error table):
 * a code outside the table counts as UNKNOWN, so a hive cannot grow the series count.
 */
export function taskMetrics(reg: Registry): TaskObserver {
  const byKind = new Cells((kind) => ({
    kind,
    outcomes: new Cells((outcome) => ({ outcome, n: 0 })),
    // Per-bucket counts (not cumulative) plus the overflow past the last bucket.
    buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0),
    sum: 0,
    count: 0,
  }));
  const byCode = new Cells((code) => ({ code, n: 0 }));

  register(reg, 'apiary_tasks_total', 'Tasks that reached a terminal state, by kind and outcome.', 'counter', () =>
    [...byKind.values()].flatMap((k) => [...k.outcomes.values()].map((o) => ({ labels: { kind: k.kind, outcome: o.outcome }, value: o.n }))),
  );
  register(reg, 'apiary_task_duration_seconds', 'Run time of the last attempt of each finished task, by kind.', 'histogram', () =>
    [...byKind.values()]
      .filter((k) => k.count > 0)
      .flatMap((k) => {
        let cumulative = 0;
        const out: Value[] = DURATION_BUCKETS_S.map((le, i) => {
          cumulative += k.buckets[i]!;
          return { metricName: 'apiary_task_duration_seconds_bucket', labels: { kind: k.kind, le: String(le) }, value: cumulative };
        });
        out.push({ metricName: 'apiary_task_duration_seconds_bucket', labels: { kind: k.kind, le: '+Inf' }, value: k.count });
        out.push({ metricName: 'apiary_task_duration_seconds_sum', labels: { kind: k.kind }, value: k.sum });
        out.push({ metricName: 'apiary_task_duration_seconds_count', labels: { kind: k.kind }, value: k.count });
        return out;
      }),
  );
  register(reg, 'apiary_task_attempts_total', "Attempts that ended, by outcome code ('OK' or the error code).", 'counter', () =>
    [...byCode.values()].map((c) => ({ labels: { code: c.code }, value: c.n })),
  );

  return {
    finished(kind, outcome, lastAttemptMs) {
      const k = byKind.get(kind);
      k.outcomes.get(outcome).n++;
      if (lastAttemptMs === null) return;
      const s = lastAttemptMs / 1000;
      let i = 0;
      while (i < DURATION_BUCKETS_S.length && s > DURATION_BUCKETS_S[i]!) i++;
      k.buckets[i]!++;
      k.sum += s;
      k.count++;
    },
    attemptEnded(code) {
      byCode.get(code === 'OK' || isErrorCode(code) ? code : 'UNKNOWN').n++;
    },
  };
}
