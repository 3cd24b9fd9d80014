import { randomUUID } from 'node:crypto';
import {
  ApiaryError,
  RETRYABLE_CODES,
  TERMINAL_STATES,
  type TaskLimits,
  type TaskSpec,
  type TaskValue,
  type WireError,
} from '@apiary/protocol';
import { FifoQueue, type Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import type { TaskLedger, TaskRecord } from './ledger.js';

export interface SchedulerOptions {
  maxAttempts: number;
}

type Listener = (t: TaskRecord) => void;

/**
 * Puts queued tasks on hives with free capacity, in FIFO order, and decides what a failure means:
 * a retryable one (the colony's fault) goes back in the queue for another bee or hive until the
 * attempts run out (then TASK_ABANDONED with every attempt's diagnostics); a user error is final.
 */
export class Scheduler {
  readonly #queue = new FifoQueue<string>();
  readonly #waiters = new Map<string, Set<Listener>>();
  readonly #listeners = new Set<Listener>();

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {}

  submit(spec: TaskSpec, limits: TaskLimits): TaskRecord {
    const rec: TaskRecord = {
      id: randomUUID(),
      spec,
      limits,
      state: 'queued',
      createdAt: Date.now(),
      finishedAt: null,
      maxAttempts: limits.maxAttempts ?? this.opts.maxAttempts,
      attempts: [],
      value: null,
      error: null,
    };
    this.ledger.create(rec);
    this.#queue.push(rec.id);
    this.#emit(rec);
    this.pump();
    return rec;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Assign queued tasks while some hive has room. */
  pump(): void {
    while (this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      const t = this.ledger.get(id);
      if (!t || t.state !== 'queued') continue;
      const hive = this.#pickHive(t);
      if (!hive) {
        this.#requeueFront(id);
        return;
      }
      const attempt = t.attempts.length + 1;
      t.state = 'running';
      t.attempts.push({ attempt, hive: hive.id, bee: -1, startedAt: Date.now(), durationMs: 0, error: null });
      this.ledger.update(t);
      hive.inFlight.set(t.id, attempt);
      const avoidBees = t.attempts.filter((a) => a.hive === hive.id && a.bee >= 0).map((a) => a.bee);
      hive.send({ type: 'task.assign', taskId: t.id, attempt, spec: t.spec, limits: t.limits, avoidBees });
      this.#emit(t);
    }
  }

  #requeueFront(id: string): void {
    const rest = this.#queue.drain();
    this.#queue.push(id);
    for (const r of rest) this.#queue.push(r);
  }

  /** The hive this task has failed on least, then the one with most room. */
  #pickHive(t: TaskRecord): HiveSession | null {
    let best: HiveSession | null = null;
    let bestScore = Infinity;
    for (const h of this.hives()) {
      if (h.free <= 0) continue;
      const tried = t.attempts.filter((a) => a.hive === h.id).length;
      const score = tried * 1_000_000 - h.free;
      if (score < bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best;
  }

  onStarted(hive: HiveSession, taskId: string, attempt: number, bee: number, at: number): void {
    const a = this.#attempt(taskId, attempt);
    if (!a) return;
    a.bee = bee;
    a.startedAt = at;
    a.hive = hive.id;
  }

  onSucceeded(hive: HiveSession, taskId: string, attempt: number, value: TaskValue, durationMs: number): void {
    hive.inFlight.delete(taskId);
    const t = this.ledger.get(taskId);
    const a = this.#attempt(taskId, attempt);
    if (t && a && t.state === 'running' && t.attempts.length === attempt) {
      a.durationMs = durationMs;
      this.#finish(t, 'succeeded', value, null);
    }
    this.pump();
  }

  onFailed(hive: HiveSession, taskId: string, attempt: number, error: WireError, durationMs: number): void {
    hive.inFlight.delete(taskId);
    this.#attemptFailed(taskId, attempt, error, durationMs);
    this.pump();
  }

  /** A hive is gone: each of its tasks counts a failed attempt with HIVE_LOST and may run elsewhere. */
  onHiveLost(hive: HiveSession, why: string): void {
    for (const [taskId, attempt] of hive.inFlight) {
      const a = this.#attempt(taskId, attempt);
      const durationMs = a ? Date.now() - a.startedAt : 0;
      this.#attemptFailed(taskId, attempt, { code: 'HIVE_LOST', message: `hive ${hive.resources.name} was lost: ${why}` }, durationMs);
    }
    hive.inFlight.clear();
    this.pump();
  }

  #attemptFailed(taskId: string, attempt: number, error: WireError, durationMs: number): void {
    const t = this.ledger.get(taskId);
    const a = this.#attempt(taskId, attempt);
    if (!t || !a || t.state !== 'running' || t.attempts.length !== attempt) return;
    a.error = error;
    a.durationMs = durationMs;
    if (!RETRYABLE_CODES.has(error.code) || t.maxAttempts === 1) {
      // A user error is final; so is any error when the task asked for a single attempt.
      this.#finish(t, 'failed', null, error);
    } else if (attempt >= t.maxAttempts) {
      const summary = t.attempts.map((x) => `#${x.attempt} ${x.error?.code ?? '?'} on ${x.hive}/bee-${x.bee}`).join(', ');
      this.#finish(t, 'abandoned', null, {
        code: 'TASK_ABANDONED',
        message: `abandoned after ${attempt} attempts (${summary}); last: ${error.message}`,
        details: { lastCode: error.code },
      });
    } else {
      this.log.info(`task ${taskId} attempt ${attempt} failed with ${error.code}; retrying`);
      t.state = 'queued';
      this.ledger.update(t);
      this.#emit(t);
      this.#queue.push(taskId);
    }
  }

  /** Cancel: idempotent; a running task's bee is told to stop, and a late result is ignored. */
  cancel(taskId: string, why = 'cancelled by request'): TaskRecord {
    const t = this.ledger.get(taskId);
    if (!t) throw new ApiaryError('TASK_NOT_FOUND', `no task ${taskId}`);
    if (TERMINAL_STATES.has(t.state)) return t;
    if (t.state === 'running') {
      for (const h of this.hives()) {
        if (h.inFlight.delete(taskId)) h.send({ type: 'task.cancel', taskId });
      }
    }
    this.#finish(t, 'cancelled', null, { code: 'TASK_CANCELLED', message: why });
    this.pump();
    return t;
  }

  #finish(t: TaskRecord, state: TaskRecord['state'], value: TaskValue | null, error: WireError | null): void {
    t.state = state;
    t.value = value;
    t.error = error;
    t.finishedAt = Date.now();
    this.ledger.update(t);
    this.#emit(t);
    const ws = this.#waiters.get(t.id);
    if (ws) {
      this.#waiters.delete(t.id);
      for (const w of ws) w(t);
    }
  }

  #attempt(taskId: string, attempt: number) {
    return this.ledger.get(taskId)?.attempts[attempt - 1];
  }

  /** Resolve when the task is terminal, or with its current record after waitMs. */
  wait(taskId: string, waitMs: number, signal?: AbortSignal): Promise<TaskRecord> {
    const t = this.ledger.get(taskId);
    if (!t) return Promise.reject(new ApiaryError('TASK_NOT_FOUND', `no task ${taskId}`));
    if (TERMINAL_STATES.has(t.state) || waitMs <= 0) return Promise.resolve(t);
    return new Promise((resolve) => {
      let set = this.#waiters.get(taskId);
      if (!set) this.#waiters.set(taskId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set!.delete(w);
        signal?.removeEventListener('abort', done);
        resolve(t);
      };
      const w: Listener = done;
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(w);
    });
  }

  /** Every task state change, for event streams. */
  onChange(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #emit(t: TaskRecord): void {
    for (const l of this.#listeners) l(t);
  }

  /** Fail everything not yet finished (the queen is stopping with no hive left to run it). */
  failAll(error: WireError): void {
    for (const t of this.ledger.nonTerminal()) this.#finish(t, 'cancelled', null, error);
    this.#queue.drain();
  }
}
