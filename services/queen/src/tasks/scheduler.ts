import { randomUUID } from 'node:crypto';
import { shouldRetry } from '@apiary/behaviours';
import { ApiaryError, TERMINAL_STATES, type TaskLimits, type TaskSpec, type TaskValue, type WireError } from '@apiary/protocol';
import { FifoQueue, type Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import type { TaskLedger, TaskRecord } from './ledger.js';

export interface SubmitOptions {
  /** Place only on hives that read the queen's data root in place (see TaskRecord.onQueenFs). */
  onQueenFs?: boolean;
}

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
  /** After a restart: running tasks (id → attempt) no hive has reclaimed yet. */
  readonly #unclaimed = new Map<string, number>();
  #draining = false;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {}

  submit(spec: TaskSpec, limits: TaskLimits, opts: SubmitOptions = {}): TaskRecord {
    const rec = this.#record(spec, limits, opts);
    this.ledger.create(rec);
    this.#queue.push(rec.id);
    this.#emit(rec);
    this.pump();
    return rec;
  }

  /** Record many tasks in one ledger transaction, then queue them in order. */
  submitMany(tasks: readonly { spec: TaskSpec; limits: TaskLimits }[], opts: SubmitOptions = {}): TaskRecord[] {
    const recs = tasks.map((t) => this.#record(t.spec, t.limits, opts));
    this.ledger.createMany(recs);
    for (const r of recs) {
      this.#queue.push(r.id);
      this.#emit(r);
    }
    this.pump();
    return recs;
  }

  #record(spec: TaskSpec, limits: TaskLimits, opts: SubmitOptions): TaskRecord {
    return {
      ...(opts.onQueenFs ? { onQueenFs: true } : {}),
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
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * After a queen restart: queued tasks go back in the queue; running ones wait reclaimMs for their
   * hive to reconnect and reclaim them (or deliver their result), then count a HIVE_LOST attempt.
   */
  recover(reclaimMs: number): void {
    for (const t of this.ledger.nonTerminal()) {
      if (t.state === 'queued') this.#queue.push(t.id);
      else this.#unclaimed.set(t.id, t.attempts.length);
    }
    if (this.#unclaimed.size > 0) {
      this.log.info(`recovering: ${this.#queue.length} queued, ${this.#unclaimed.size} running awaiting their hives`);
      setTimeout(() => this.#expireUnclaimed(), reclaimMs).unref();
    }
    this.pump();
  }

  #expireUnclaimed(): void {
    for (const [id, attempt] of this.#unclaimed) {
      this.#attemptFailed(id, attempt, { code: 'HIVE_LOST', message: 'the queen restarted and no hive reclaimed the task' }, 0);
    }
    this.#unclaimed.clear();
    this.pump();
  }

  /**
   * A hive (re)joined holding these attempts. Current ones are its again; stale ones (the task was
   * re-dispatched or finished meanwhile) are returned so the hive can be told to drop them.
   */
  claim(hive: HiveSession, held: readonly { taskId: string; attempt: number }[]): string[] {
    const stale: string[] = [];
    for (const { taskId, attempt } of held) {
      const t = this.ledger.get(taskId);
      const elsewhere = [...this.hives()].some((h) => h !== hive && h.inFlight.has(taskId));
      if (t && t.state === 'running' && t.attempts.length === attempt && !elsewhere) {
        hive.inFlight.set(taskId, attempt);
        this.#unclaimed.delete(taskId);
        t.attempts[attempt - 1]!.hive = hive.id;
        this.ledger.update(t);
      } else if (t && t.state === 'queued' && t.attempts.length === attempt - 1 && !elsewhere) {
        // A queen that died just after assigning it never recorded that (ledger writes trail by a
        // few ms): the hive has it, so adopt it rather than cancel it and run it again.
        t.state = 'running';
        t.attempts.push({ attempt, hive: hive.id, bee: -1, startedAt: Date.now(), durationMs: 0, error: null });
        hive.inFlight.set(taskId, attempt);
        this.ledger.update(t);
        this.#emit(t);
      } else {
        stale.push(taskId);
      }
    }
    return stale;
  }

  /** Assign queued tasks while some hive has room. */
  pump(): void {
    while (!this.#draining && this.#queue.length > 0) {
      // Peek first: with no hive free the queue stays exactly as it is (no drain and re-push).
      const id = this.#queue.peek()!;
      const t = this.ledger.get(id);
      if (t?.state !== 'queued') {
        this.#queue.shift();
        continue;
      }
      const hive = this.#pickHive(t);
      if (!hive) {
        if (t.onQueenFs && this.#noHiveSeesQueenFs()) {
          this.#queue.shift();
          this.#finish(t, 'failed', null, {
            code: 'NO_HIVES',
            message: "no connected hive can read the queen's files (writes and results into frames need a hive on the queen's machine)",
          });
          continue;
        }
        return;
      }
      this.#queue.shift();
      const attempt = t.attempts.length + 1;
      t.state = 'running';
      t.attempts.push({ attempt, hive: hive.id, bee: -1, startedAt: Date.now(), durationMs: 0, error: null });
      this.ledger.update(t);
      hive.inFlight.set(t.id, attempt);
      const avoidBees = t.attempts.length > 1 ? t.attempts.filter((a) => a.hive === hive.id && a.bee >= 0).map((a) => a.bee) : [];
      hive.send({ type: 'task.assign', taskId: t.id, attempt, spec: t.spec, limits: t.limits, avoidBees });
      this.#emit(t);
    }
  }

  /** The hive this task has failed on least, then the one already holding most of its cells, then the one with most room. */
  #pickHive(t: TaskRecord): HiveSession | null {
    let best: HiveSession | null = null;
    let bestScore = Infinity;
    const cells = t.spec.kind === 'fsql' ? Object.values(t.spec.views).flat() : [];
    for (const h of this.hives()) {
      if (h.free <= 0 || (t.onQueenFs && h.dataInPlace !== true)) continue;
      const tried = t.attempts.filter((a) => a.hive === h.id).length;
      const held =
        cells.length === 0 ? 0 : h.dataInPlace === true ? cells.length : h.cachedCells.size > 0 ? cells.filter((c) => h.cachedCells.has(c)).length : 0;
      const score = tried * 1_000_000 - held * 1_000 - h.free;
      if (score < bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best;
  }

  /** Every connected hive has reported, and none reads the queen's filesystem (nobody left to wait for). */
  #noHiveSeesQueenFs(): boolean {
    let any = false;
    for (const h of this.hives()) {
      any = true;
      if (h.dataInPlace !== false) return false;
    }
    return any;
  }

  onStarted(hive: HiveSession, taskId: string, attempt: number, bee: number, at: number): void {
    const t = this.ledger.get(taskId);
    const a = this.#attempt(taskId, attempt);
    if (!t || !a) return;
    a.bee = bee;
    a.startedAt = at;
    a.hive = hive.id;
    this.ledger.update(t);
  }

  onSucceeded(hive: HiveSession, taskId: string, attempt: number, value: TaskValue, durationMs: number): void {
    if (hive.inFlight.get(taskId) === attempt) hive.inFlight.delete(taskId);
    const t = this.ledger.get(taskId);
    const a = this.#attempt(taskId, attempt);
    if (t && a && t.state === 'running' && t.attempts.length === attempt) {
      a.durationMs = durationMs;
      this.#finish(t, 'succeeded', value, null);
    }
    this.pump();
  }

  onFailed(hive: HiveSession, taskId: string, attempt: number, error: WireError, durationMs: number): void {
    if (hive.inFlight.get(taskId) === attempt) hive.inFlight.delete(taskId);
    // Cut short by our own shutdown: it stays running in the ledger for the next queen to re-run.
    if (this.#draining && error.code === 'TASK_CANCELLED') return;
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
    const decision = shouldRetry(error.code, attempt, t.maxAttempts, t.limits.retryUserErrors === true);
    if (decision === 'fail') {
      this.#finish(t, 'failed', null, error);
    } else if (decision === 'abandon') {
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
    this.#unclaimed.delete(t.id);
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
      if (!set) {
        set = new Set();
        this.#waiters.set(taskId, set);
      }
      const done = () => {
        clearTimeout(timer);
        set!.delete(w);
        if (set!.size === 0 && this.#waiters.get(taskId) === set) this.#waiters.delete(taskId);
        signal?.removeEventListener('abort', done);
        resolve(t);
      };
      const w: Listener = done;
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(w);
    });
  }

  /** Wait for many tasks: resolves when all are terminal or waitMs pass. */
  async waitMany(ids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<TaskRecord[]> {
    const deadline = Date.now() + waitMs;
    const out: TaskRecord[] = [];
    for (const id of ids) out.push(await this.wait(id, Math.max(0, deadline - Date.now()), signal));
    return out;
  }

  /** Every task state change, for event streams. */
  onChange(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #emit(t: TaskRecord): void {
    for (const l of this.#listeners) l(t);
  }

  /** The queen is stopping: hand out nothing more. */
  drain(): void {
    this.#draining = true;
    this.#queue.drain();
  }

  /** Fail everything not yet finished (the queen is stopping with no hive left to run it). */
  failAll(error: WireError): void {
    for (const t of this.ledger.nonTerminal()) this.#finish(t, 'cancelled', null, error);
    this.#queue.drain();
  }
}
