import { ApiaryError, TERMINAL_STATES, type TaskLimits, type TaskSpec, type TaskValue, type WireError } from '@apiary/protocol';
import { FifoQueue, type Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { ATTEMPT_CHECK_MS, AttemptDeadlines, attemptTimeoutMs, overdueError } from './attempt-deadlines.js';
import { CommitThenSend } from './commit-then-send.js';
import { afterFailure } from './failure-policy.js';
import { newAttempt } from './new-attempt.js';
import { newTaskRecord, type SubmitOptions } from './new-task.js';
import { type AttemptRef, Recovery } from './recovery.js';
import { fenceReport } from './report-fence.js';
import { moveTask } from './task-states.js';
import { noHiveSeesQueenFs, pickHive } from './placement.js';
import { TaskWaiters, type TaskListener } from './task-waiters.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import type { TaskObserver } from '../metrics/task-metrics.js';

const NO_OBSERVER: TaskObserver = { finished() {}, attemptEnded() {} };

export type { SubmitOptions } from './new-task.js';

export interface SchedulerOptions {
  maxAttempts: number;
}

export type { AttemptRef } from './recovery.js';

/**
 * Puts queued tasks on hives with free capacity, in FIFO order, and decides what a failure means:
 * a retryable one (the colony's fault) goes back in the queue for another bee or hive until the
 * attempts run out (then TASK_ABANDONED with every attempt's diagnostics); a user error is final.
 */
export class Scheduler {
  readonly #queue = new FifoQueue<string>();
  readonly #waiters: TaskWaiters;
  readonly #recovery: Recovery;
  #draining = false;
  /** Assigns and result acks wait for the ledger commit of what they announce. */
  readonly #outbox: CommitThenSend;
  readonly #deadlines = new AttemptDeadlines();
  readonly #deadlineTimer: NodeJS.Timeout;
  /** Metrics: told of every attempt end and terminal state (no-op until the queen sets one). */
  observer: TaskObserver = NO_OBSERVER;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {
    this.#outbox = new CommitThenSend(ledger, log);
    this.#waiters = new TaskWaiters(ledger);
    this.#recovery = new Recovery(
      ledger,
      hives,
      this.#deadlines,
      {
        requeue: (id) => this.#queue.push(id),
        attemptFailed: (id, attempt, error, durationMs) => this.#attemptFailed(id, attempt, error, durationMs),
        pump: () => this.pump(),
      },
      log,
    );
    this.#deadlineTimer = setInterval(() => this.#reclaimOverdue(), ATTEMPT_CHECK_MS);
    this.#deadlineTimer.unref();
  }

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
    return newTaskRecord(spec, limits, opts, this.opts.maxAttempts);
  }

  get queued(): number {
    return this.#queue.length;
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
    while (!this.#draining && this.#queue.length > 0) {
      // Peek first: with no hive free the queue stays exactly as it is (no drain and re-push).
      const id = this.#queue.peek()!;
      const t = this.ledger.get(id);
      if (t?.state !== 'queued') {
        this.#queue.shift();
        continue;
      }
      const hive = pickHive(t, this.hives());
      if (!hive) {
        if (t.onQueenFs && noHiveSeesQueenFs(this.hives())) {
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
      const assign = newAttempt(t, hive, this.ledger.epoch, this.log);
      this.ledger.update(t);
      hive.inFlight.set(t.id, assign.attempt);
      this.#deadlines.assigned(t.id, assign.attempt, hive, attemptTimeoutMs(t.limits, hive));
      // Sent only after the commit of this attempt (and of the turn's others): see CommitThenSend.
      this.#outbox.stage(hive, assign);
      this.#emit(t);
    }
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
    this.observer.attemptEnded('OK');
    this.#finish(t, 'succeeded', value, null);
    this.#ack(hive, ref);
    this.pump();
  }

  onFailed(hive: HiveSession, ref: AttemptRef, error: WireError, durationMs: number, bee = -1): void {
    const t = this.#fenced(hive, ref, 'task.failed');
    if (!t) return;
    hive.inFlight.delete(ref.taskId);
    // Cut short by our own shutdown: it stays running in the ledger for the next queen to re-run
    // (unacknowledged: the hive does not keep cancellations for resending).
    if (this.#draining && error.code === 'TASK_CANCELLED') return;
    this.#impliedStart(hive, t, ref, bee, durationMs);
    this.#attemptFailed(ref.taskId, ref.attempt, error, durationMs);
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
      this.#attemptFailed(d.taskId, d.attempt, overdueError(d.hive, d.timeoutMs), Date.now() - a.startedAt);
    }
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
    this.#deadlines.end(taskId);
    a.error = error;
    a.durationMs = durationMs;
    this.observer.attemptEnded(error.code);
    const end = afterFailure(t, attempt, error);
    if (end) {
      this.#finish(t, end.state, null, end.error);
    } else {
      this.log.info(`task ${taskId} attempt ${attempt} failed with ${error.code}; retrying`, { task: taskId, code: error.code });
      moveTask(t, 'queued', this.log, error.code);
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
      // A staged assign of this task must reach the hive before its cancel.
      this.#outbox.flush();
      for (const h of this.hives()) {
        if (h.inFlight.delete(taskId)) h.send({ type: 'task.cancel', taskId });
      }
    }
    this.#finish(t, 'cancelled', null, { code: 'TASK_CANCELLED', message: why });
    this.pump();
    return t;
  }

  #finish(t: TaskRecord, state: TaskRecord['state'], value: TaskValue | null, error: WireError | null): void {
    this.#recovery.settled(t.id);
    this.#deadlines.end(t.id);
    moveTask(t, state, this.log, error?.code);
    t.value = value;
    t.error = error;
    t.finishedAt = Date.now();
    this.ledger.update(t);
    // The last attempt's run time, if it ended with a result (a cancelled one has none).
    const last = t.attempts.at(-1);
    this.observer.finished(t.spec.kind, state, last && (state === 'succeeded' || last.error !== null) ? last.durationMs : null);
    this.#emit(t);
    this.#waiters.finished(t);
  }

  #attempt(taskId: string, attempt: number) {
    return this.ledger.get(taskId)?.attempts[attempt - 1];
  }

  /** Resolve when the task is terminal, or with its current record after waitMs. */
  wait(taskId: string, waitMs: number, signal?: AbortSignal): Promise<TaskRecord> {
    return this.#waiters.wait(taskId, waitMs, signal);
  }

  /** Wait for many tasks: resolves when all are terminal or waitMs pass. */
  waitMany(ids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<TaskRecord[]> {
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
    this.#draining = true;
    this.#queue.drain();
    clearInterval(this.#deadlineTimer);
    this.#recovery.stop();
  }

  /** Fail everything not yet finished (the queen is stopping with no hive left to run it). */
  failAll(error: WireError): void {
    for (const t of this.ledger.nonTerminal()) this.#finish(t, 'cancelled', null, error);
    this.#queue.drain();
  }
}
