import { ApiaryError, TERMINAL_STATES, type TaskLimits, type TaskSpec, type TaskValue, type WireError } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { ATTEMPT_CHECK_MS, AttemptDeadlines, overdueError } from './attempt-deadlines.js';
import { CommitThenSend } from './commit-then-send.js';
import { Dispatch } from './dispatch.js';
import { newTaskRecord, type SubmitOptions } from './new-task.js';
import { Outcomes } from './outcomes.js';
import { type AttemptRef, Recovery } from './recovery.js';
import { fenceReport } from './report-fence.js';
import { TaskWaiters, type TaskListener, type WaitSignal } from './task-waiters.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import type { TaskObserver } from '../metrics/task-metrics.js';

export type { SubmitOptions } from './new-task.js';

export interface SchedulerOptions {
  maxAttempts: number;
  /** Commits to busy hives at least this far apart (default COMMIT_COALESCE_MS; tests widen it). */
  commitCoalesceMs?: number;
}

export type { AttemptRef } from './recovery.js';

/**
 * Puts queued tasks on hives with free capacity, in FIFO order (dispatch.ts), takes the hives'
 * reports, and decides what a failure means (outcomes.ts): a retryable one (the colony's fault) goes
 * back in the queue for another bee or hive until the attempts run out (then TASK_ABANDONED with
 * every attempt's diagnostics); a user error is final.
 */
export class Scheduler {
  readonly #waiters: TaskWaiters;
  readonly #recovery: Recovery;
  readonly #dispatch: Dispatch;
  readonly #outcomes: Outcomes;
  /** Assigns and result acks wait for the ledger commit of what they announce. */
  readonly #outbox: CommitThenSend;
  readonly #deadlines = new AttemptDeadlines();
  readonly #deadlineTimer: NodeJS.Timeout;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {
    this.#outbox = new CommitThenSend(ledger, log, opts.commitCoalesceMs);
    this.#waiters = new TaskWaiters(ledger);
    const requeue = (id: string) => this.#dispatch.push(id);
    this.#outcomes = new Outcomes(ledger, this.#deadlines, this.#waiters, { settled: (id) => this.#recovery.settled(id), requeue }, log);
    const finish = this.#outcomes.finish.bind(this.#outcomes);
    this.#dispatch = new Dispatch(ledger, hives, this.#deadlines, this.#outbox, { finish, emit: (t) => this.#emit(t) }, log);
    const attemptFailed = this.#outcomes.attemptFailed.bind(this.#outcomes);
    this.#recovery = new Recovery(ledger, hives, this.#deadlines, { requeue, attemptFailed, pump: () => this.pump() }, log);
    this.#deadlineTimer = setInterval(() => this.#reclaimOverdue(), ATTEMPT_CHECK_MS);
    this.#deadlineTimer.unref();
  }

  /** Metrics: told of every attempt end and terminal state (no-op until the queen sets one). */
  get observer(): TaskObserver {
    return this.#outcomes.observer;
  }
  set observer(o: TaskObserver) {
    this.#outcomes.observer = o;
  }

  submit(spec: TaskSpec, limits: TaskLimits, opts: SubmitOptions = {}): TaskRecord {
    return this.submitMany([{ spec, limits }], opts)[0]!;
  }

  /**
   * Record many tasks in one ledger transaction (committed before this returns), then queue them in
   * order. Those that can start at once get their first attempt in that same commit (Dispatch.place).
   */
  submitMany(tasks: readonly { spec: TaskSpec; limits: TaskLimits }[], opts: SubmitOptions = {}): TaskRecord[] {
    const recs = tasks.map((t) => newTaskRecord(t.spec, t.limits, opts, this.opts.maxAttempts));
    const placed = this.#dispatch.place(recs);
    try {
      this.ledger.createMany(recs);
    } catch (e) {
      this.#dispatch.unplace(placed);
      throw e;
    }
    this.#dispatch.placed(recs, placed);
    recs.forEach((r, i) => {
      if (i >= placed.length) this.#dispatch.push(r.id);
      // Listeners see every task queued first, as they did before placement moved ahead of the commit.
      else if (this.#waiters.watched) this.#emit({ ...r, state: 'queued', attempts: [] });
      this.#emit(r);
    });
    this.pump();
    return recs;
  }

  get queued(): number {
    return this.#dispatch.length;
  }

  /** After a queen restart: see Recovery. */
  recover(reclaimMs: number): void {
    this.#recovery.recover(reclaimMs);
  }

  /** A hive (re)joined holding these attempts: the stale ones are returned (see Recovery.claim). */
  claim(hive: HiveSession, held: readonly AttemptRef[]): string[] {
    return this.#recovery.claim(hive, held);
  }

  /** Assign queued tasks while some hive has room. */
  pump(): void {
    this.#dispatch.pump();
  }

  onStarted(hive: HiveSession, ref: AttemptRef, bee: number, at: number): void {
    const t = this.#fenced(hive, ref, 'task.started');
    if (!t) return;
    const a = t.attempts[ref.attempt - 1]!;
    a.bee = bee;
    a.startedAt = at;
    a.hive = hive.id;
    this.ledger.update(t);
    this.#deadlines.started(ref.taskId, ref.attempt);
  }

  /**
   * A result with no start report before it (the hive holds starts back briefly, see its
   * StartReports) implies the start: the bee it names ran the attempt for durationMs until now.
   */
  #impliedStart(hive: HiveSession, t: TaskRecord, ref: AttemptRef, bee: number, durationMs: number): void {
    const a = t.attempts[ref.attempt - 1]!;
    if (a.bee >= 0 || bee < 0) return;
    a.bee = bee;
    a.startedAt = Date.now() - durationMs;
    a.hive = hive.id;
  }

  onSucceeded(hive: HiveSession, ref: AttemptRef, value: TaskValue, durationMs: number, bee = -1): void {
    const t = this.#fenced(hive, ref, 'task.succeeded');
    if (!t) return;
    hive.inFlight.delete(ref.taskId);
    this.#impliedStart(hive, t, ref, bee, durationMs);
    t.attempts[ref.attempt - 1]!.durationMs = durationMs;
    this.#outcomes.observer.attemptEnded('OK');
    this.#outcomes.finish(t, 'succeeded', value, null);
    this.#ack(hive, ref);
    this.pump();
  }

  onFailed(hive: HiveSession, ref: AttemptRef, error: WireError, durationMs: number, bee = -1): void {
    const t = this.#fenced(hive, ref, 'task.failed');
    if (!t) return;
    hive.inFlight.delete(ref.taskId);
    // Cut short by our own shutdown: it stays running in the ledger for the next queen to re-run
    // (unacknowledged: the hive does not keep cancellations for resending).
    if (this.#dispatch.draining && error.code === 'TASK_CANCELLED') return;
    this.#impliedStart(hive, t, ref, bee, durationMs);
    this.#outcomes.attemptFailed(ref.taskId, ref.attempt, error, durationMs);
    this.#ack(hive, ref);
    this.pump();
  }

  /** Acknowledge a result once what it did is committed (CommitThenSend): the hive stops keeping it. Not urgent: see ACK_HOLD_MS. */
  #ack(hive: HiveSession, ref: AttemptRef, accepted = true): void {
    this.#outbox.stageLazy(hive, { type: 'result.ack', taskId: ref.taskId, attempt: ref.attempt, token: ref.token, accepted });
  }

  /** See fenceReport; a refused result is acknowledged as not accepted, so the hive stops resending it. */
  #fenced(hive: HiveSession, ref: AttemptRef, what: string): TaskRecord | null {
    const t = fenceReport(this.ledger, hive, ref, what, this.log);
    if (!t && what !== 'task.started') this.#ack(hive, ref, false);
    return t;
  }

  /** Past its deadline (timeout + grace): take the attempt back from a silent or lying hive and tell it to stop. */
  #reclaimOverdue(): void {
    for (const d of this.#deadlines.takeExpired()) {
      const t = this.ledger.get(d.taskId);
      if (t?.state !== 'running' || t.attempts.length !== d.attempt || d.hive.inFlight.get(d.taskId) !== d.attempt) continue;
      const a = t.attempts[d.attempt - 1]!;
      this.log.warn(`TASK_TIMEOUT: hive ${d.hive.id} did not report task ${d.taskId} attempt ${d.attempt} in time; reclaimed`);
      d.hive.inFlight.delete(d.taskId);
      this.#outbox.flush();
      d.hive.send({ type: 'task.cancel', taskId: d.taskId });
      this.#outcomes.attemptFailed(d.taskId, d.attempt, overdueError(d.hive, d.timeoutMs), Date.now() - a.startedAt);
    }
    this.pump();
  }

  /** A hive is gone: each of its tasks counts a failed attempt with HIVE_LOST and may run elsewhere. */
  onHiveLost(hive: HiveSession, why: string): void {
    for (const [taskId, attempt] of hive.inFlight) {
      const a = this.ledger.get(taskId)?.attempts[attempt - 1];
      const durationMs = a ? Date.now() - a.startedAt : 0;
      this.#outcomes.attemptFailed(taskId, attempt, { code: 'HIVE_LOST', message: `hive ${hive.resources.name} was lost: ${why}` }, durationMs);
    }
    hive.inFlight.clear();
    this.pump();
  }

  /** Cancel: idempotent; a running task's bee is told to stop, and a late result is ignored. */
  cancel(taskId: string, why = 'cancelled by request'): TaskRecord {
    const t = this.ledger.get(taskId);
    if (!t) throw new ApiaryError('TASK_NOT_FOUND', `no task ${taskId}`);
    if (TERMINAL_STATES.has(t.state)) return t;
    if (t.state === 'running') {
      // A staged assign of this task must reach the hive before its cancel.
      this.#outbox.flush();
      for (const h of this.hives()) {
        if (h.inFlight.delete(taskId)) h.send({ type: 'task.cancel', taskId });
      }
    }
    this.#outcomes.finish(t, 'cancelled', null, { code: 'TASK_CANCELLED', message: why });
    this.pump();
    return t;
  }

  /** Resolve when the task is terminal, or with its current record after waitMs. */
  wait(taskId: string, waitMs: number, signal?: WaitSignal): Promise<TaskRecord> {
    return this.#waiters.wait(taskId, waitMs, signal);
  }

  /** Wait for many tasks: resolves when all are terminal or waitMs pass. */
  waitMany(ids: readonly string[], waitMs: number, signal?: WaitSignal): Promise<TaskRecord[]> {
    return this.#waiters.waitMany(ids, waitMs, signal);
  }

  /** Every task state change, for event streams. */
  onChange(l: TaskListener): () => void {
    return this.#waiters.onChange(l);
  }

  #emit(t: TaskRecord): void {
    this.#waiters.changed(t);
  }

  /** The queen is stopping: hand out nothing more. */
  drain(): void {
    this.#dispatch.drain();
    clearInterval(this.#deadlineTimer);
    this.#recovery.stop();
  }

  /** Fail everything not yet finished (the queen is stopping with no hive left to run it). */
  failAll(error: WireError): void {
    for (const t of this.ledger.nonTerminal()) this.#outcomes.finish(t, 'cancelled', null, error);
    this.#dispatch.clear();
  }
}
