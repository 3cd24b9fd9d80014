import type { TaskAssign, WireError } from '@apiary/protocol';
import { FifoQueue, type Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { type AttemptDeadlines, attemptTimeoutMs } from './attempt-deadlines.js';
import type { CommitThenSend } from './commit-then-send.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import { newAttempt } from './new-attempt.js';
import { noHiveSeesQueenFs, pickHive } from './placement.js';

/** What dispatch needs from the scheduler: the end of a task it cannot place, and change events. */
export interface DispatchHost {
  finish(t: TaskRecord, state: TaskRecord['state'], value: null, error: WireError): void;
  emit(t: TaskRecord): void;
}

/** A new task given its first attempt before its create commit: the assign waits for that commit. */
export interface Placed {
  hive: HiveSession;
  assign: TaskAssign;
}

/**
 * The queen's FIFO queue and the pump that puts queued tasks on hives with free capacity. New tasks
 * that can start at once are placed before their create commit (see `place`), so a task and its
 * first attempt share one commit.
 */
export class Dispatch {
  readonly #queue = new FifoQueue<string>();
  #draining = false;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly deadlines: AttemptDeadlines,
    private readonly outbox: CommitThenSend,
    private readonly host: DispatchHost,
    private readonly log: Logger,
  ) {}

  get length(): number {
    return this.#queue.length;
  }

  get draining(): boolean {
    return this.#draining;
  }

  push(id: string): void {
    this.#queue.push(id);
  }

  /**
   * Give new records (not yet in the ledger) their first attempt now, in order, while the queue is
   * empty and some hive has room: the create commit then records the task and its attempt together,
   * and the pump's own commit has nothing left to write (issue 10: one commit, not two, on a lone
   * task's path). Hive capacity is reserved here; `placed` sends after the commit, `unplace` undoes
   * a batch whose commit failed. Returns the placed prefix of `recs`, in order.
   */
  place(recs: readonly TaskRecord[]): Placed[] {
    const out: Placed[] = [];
    if (this.#draining || this.#queue.length > 0) return out;
    for (const t of recs) {
      const hive = pickHive(t, this.hives());
      if (!hive) break;
      const assign = newAttempt(t, hive, this.ledger.epoch, this.log);
      hive.inFlight.set(t.id, assign.attempt);
      out.push({ hive, assign });
    }
    return out;
  }

  /** The create commit failed: give back the capacity `place` reserved (the records are dropped). */
  unplace(placed: readonly Placed[]): void {
    for (const p of placed) p.hive.inFlight.delete(p.assign.taskId);
  }

  /** The create commit holds these attempts: arm their deadlines and send the assigns. */
  placed(recs: readonly TaskRecord[], placed: readonly Placed[]): void {
    placed.forEach(({ hive, assign }, i) => {
      this.deadlines.assigned(assign.taskId, assign.attempt, hive, attemptTimeoutMs(recs[i]!.limits, hive));
      this.outbox.stage(hive, assign, true);
    });
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
          this.host.finish(t, 'failed', null, {
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
      this.deadlines.assigned(t.id, assign.attempt, hive, attemptTimeoutMs(t.limits, hive));
      // Sent only after the commit of this attempt (and of the turn's others): see CommitThenSend.
      this.outbox.stage(hive, assign);
      this.host.emit(t);
    }
  }

  /** The queen is stopping: hand out nothing more. */
  drain(): void {
    this.#draining = true;
    this.#queue.drain();
  }

  /** Forget what is queued (failAll ended those tasks). */
  clear(): void {
    this.#queue.drain();
  }
}
