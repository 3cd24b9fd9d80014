import { randomUUID } from 'node:crypto';
import { shouldRetry } from '@apiary/behaviours';
import { ApiaryError, TERMINAL_STATES, type TaskLimits, type TaskSpec, type TaskValue, type WireError } from '@apiary/protocol';
import { FifoQueue, type Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { ATTEMPT_CHECK_MS, ATTEMPT_GRACE_MS, AttemptDeadlines, attemptTimeoutMs } from './attempt-deadlines.js';
import { attemptToken, hiveNameOf } from './attempt-tokens.js';
import { CommitThenSend } from './commit-then-send.js';
import { moveTask } from './task-states.js';
import { noHiveSeesQueenFs, pickHive } from './placement.js';
import { TaskWaiters, type TaskListener } from './task-waiters.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import type { TaskObserver } from '../metrics/task-metrics.js';

const NO_OBSERVER: TaskObserver = { finished() {}, attemptEnded() {} };

export interface SubmitOptions {
  /** Place only on hives that read the queen's data root in place (see TaskRecord.onQueenFs). */
  onQueenFs?: boolean;
}

export interface SchedulerOptions {
  maxAttempts: number;
}

/** How a hive names an attempt in its reports. */
export interface AttemptRef {
  taskId: string;
  attempt: number;
  token: string;
}

/**
 * Puts queued tasks on hives with free capacity, in FIFO order, and decides what a failure means:
 * a retryable one (the colony's fault) goes back in the queue for another bee or hive until the
 * attempts run out (then TASK_ABANDONED with every attempt's diagnostics); a user error is final.
 */
export class Scheduler {
  readonly #queue = new FifoQueue<string>();
  readonly #waiters: TaskWaiters;
  /** After a restart: running tasks (id → attempt and the name of the hive it was on) no hive has reclaimed yet. */
  readonly #unclaimed = new Map<string, { attempt: number; hive: string }>();
  #reclaimTimer: NodeJS.Timeout | null = null;
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
   * After a queen restart: queued tasks go back in the queue; running ones wait for their hive to
   * rejoin and claim them (see claim). A hive that rejoins without one of its attempts lost it: that
   * attempt counts HIVE_LOST at once. Attempts of hives that do not rejoin within reclaimMs count
   * HIVE_LOST then.
   */
  recover(reclaimMs: number): void {
    for (const t of this.ledger.nonTerminal()) {
      if (t.state === 'queued') this.#queue.push(t.id);
      else this.#unclaimed.set(t.id, { attempt: t.attempts.length, hive: hiveNameOf(t.attempts.at(-1)?.hive ?? '') });
    }
    if (this.#unclaimed.size > 0) {
      const hives = new Set([...this.#unclaimed.values()].map((u) => u.hive));
      this.log.info(`recovering: ${this.#queue.length} queued, ${this.#unclaimed.size} running awaiting their hives (${[...hives].join(', ')})`);
      this.#reclaimTimer = setTimeout(() => this.#expireUnclaimed(() => true, 'no hive reclaimed the task'), reclaimMs);
      this.#reclaimTimer.unref();
    }
    this.pump();
  }

  #expireUnclaimed(which: (hiveName: string) => boolean, why: string): void {
    for (const [id, u] of this.#unclaimed) {
      if (!which(u.hive)) continue;
      this.#unclaimed.delete(id);
      this.#attemptFailed(id, u.attempt, { code: 'HIVE_LOST', message: `the queen restarted and ${why}` }, 0);
    }
    if (this.#unclaimed.size === 0 && this.#reclaimTimer) {
      clearTimeout(this.#reclaimTimer);
      this.#reclaimTimer = null;
      this.log.info('recovery done: every running task was reclaimed or re-queued');
    }
    this.pump();
  }

  /**
   * A hive (re)joined holding these attempts (running, queued, or finished with the result not yet
   * acknowledged). The current ones, with the recorded token, are its again; stale ones (the task was
   * re-dispatched or finished meanwhile, or the token is not the one recorded) are returned so the
   * hive can be told to drop them. Then the attempts a restarted queen was waiting for on a hive of
   * this name that it did not claim are lost: they count HIVE_LOST now, not after the reclaim window.
   */
  claim(hive: HiveSession, held: readonly AttemptRef[]): string[] {
    const stale: string[] = [];
    for (const { taskId, attempt, token } of held) {
      const t = this.ledger.get(taskId);
      const a = t?.attempts[attempt - 1];
      const elsewhere = [...this.hives()].some((h) => h !== hive && h.inFlight.has(taskId));
      if (t && a && t.state === 'running' && t.attempts.length === attempt && a.token === token && !elsewhere) {
        hive.inFlight.set(taskId, attempt);
        this.#unclaimed.delete(taskId);
        a.hive = hive.id;
        this.ledger.update(t);
        this.#deadlines.assigned(taskId, attempt, hive, attemptTimeoutMs(t.limits, hive));
      } else {
        stale.push(taskId);
      }
    }
    if (this.#unclaimed.size > 0) this.#expireUnclaimed((name) => name === hive.resources.name, `hive ${hive.resources.name} rejoined without it`);
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
      const attempt = t.attempts.length + 1;
      const token = attemptToken(this.ledger.epoch, attempt);
      moveTask(t, 'running', this.log, hive.id);
      t.attempts.push({ attempt, hive: hive.id, bee: -1, startedAt: Date.now(), durationMs: 0, error: null, token });
      this.ledger.update(t);
      hive.inFlight.set(t.id, attempt);
      this.#deadlines.assigned(t.id, attempt, hive, attemptTimeoutMs(t.limits, hive));
      const avoidBees = t.attempts.length > 1 ? t.attempts.filter((a) => a.hive === hive.id && a.bee >= 0).map((a) => a.bee) : [];
      // Sent only after the commit of this attempt (and of the turn's others): see CommitThenSend.
      this.#outbox.stage(hive, { type: 'task.assign', taskId: t.id, attempt, token, spec: t.spec, limits: t.limits, avoidBees });
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

  onSucceeded(hive: HiveSession, ref: AttemptRef, value: TaskValue, durationMs: number): void {
    const t = this.#fenced(hive, ref, 'task.succeeded');
    if (!t) return;
    hive.inFlight.delete(ref.taskId);
    t.attempts[ref.attempt - 1]!.durationMs = durationMs;
    this.observer.attemptEnded('OK');
    this.#finish(t, 'succeeded', value, null);
    this.#ack(hive, ref);
    this.pump();
  }

  onFailed(hive: HiveSession, ref: AttemptRef, error: WireError, durationMs: number): void {
    if (!this.#fenced(hive, ref, 'task.failed')) return;
    hive.inFlight.delete(ref.taskId);
    // Cut short by our own shutdown: it stays running in the ledger for the next queen to re-run
    // (unacknowledged: the hive does not keep cancellations for resending).
    if (this.#draining && error.code === 'TASK_CANCELLED') return;
    this.#attemptFailed(ref.taskId, ref.attempt, error, durationMs);
    this.#ack(hive, ref);
    this.pump();
  }

  /** Acknowledge a result once what it did is committed (CommitThenSend): the hive stops keeping it. */
  #ack(hive: HiveSession, ref: AttemptRef, accepted = true): void {
    this.#outbox.stage(hive, { type: 'result.ack', taskId: ref.taskId, attempt: ref.attempt, token: ref.token, accepted });
  }

  /**
   * The fence: a report counts only for the task's current attempt, with the token recorded for it,
   * from the hive holding it. Anything else is refused (STALE_ATTEMPT) and the queen carries on. A
   * late report of an attempt this hive did hold (reclaimed, cancelled or finished meanwhile) is
   * routine; any other (a token never issued for it, or another hive's attempt) is logged as a warning.
   */
  #fenced(hive: HiveSession, ref: AttemptRef, what: string): TaskRecord | null {
    const t = this.ledger.get(ref.taskId);
    const a = t?.attempts[ref.attempt - 1];
    const held = hive.inFlight.get(ref.taskId) === ref.attempt;
    if (t && a && a.token === ref.token && held && t.state === 'running' && t.attempts.length === ref.attempt) return t;
    const routine = a !== undefined && a.token === ref.token && hiveNameOf(a.hive) === hive.resources.name;
    if (routine) {
      if (held) hive.inFlight.delete(ref.taskId); // its attempt was settled otherwise: the slot is free
      this.log.debug(`task ${ref.taskId} attempt ${ref.attempt}: late ${what} from ${hive.id} ignored (the attempt is settled)`);
    } else {
      this.log.warn(`STALE_ATTEMPT: ${what} from hive ${hive.id} for task ${ref.taskId} attempt ${ref.attempt} refused: not the current attempt it holds`, {
        token: ref.token,
      });
    }
    if (what !== 'task.started') this.#ack(hive, ref, false);
    return null;
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
      const error: WireError = {
        code: 'TASK_TIMEOUT',
        message: `hive ${d.hive.resources.name} did not report the attempt within its timeout (${d.timeoutMs} ms) plus ${ATTEMPT_GRACE_MS} ms; the queen reclaimed it`,
      };
      this.#attemptFailed(d.taskId, d.attempt, error, Date.now() - a.startedAt);
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
    this.#unclaimed.delete(t.id);
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
    if (this.#reclaimTimer) clearTimeout(this.#reclaimTimer);
  }

  /** Fail everything not yet finished (the queen is stopping with no hive left to run it). */
  failAll(error: WireError): void {
    for (const t of this.ledger.nonTerminal()) this.#finish(t, 'cancelled', null, error);
    this.#queue.drain();
  }
}
