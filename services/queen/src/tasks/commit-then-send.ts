import type { QueenToHive } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import type { TaskLedger } from './ledger.js';

/**
 * How long a `result.ack` may wait for a ride. An ack only lets the hive forget a result it keeps
 * for resending; nobody waits on it. Under load it goes with the next assign's packet anyway; a
 * lone task's ack waits this long for the next task's assign rather than cost a commit, a socket
 * write and a hive wake-up of its own (a lost ack only means the hive resends, and is refused).
 */
export const ACK_HOLD_MS = 50;

/**
 * Under load, commits are at least this far apart (ms). A hive whose bees already hold at least half
 * its pipeline of sent tasks (see busy()) has work queued behind every running one; an assign to it
 * that waits this long for the next commit delays no bee, while each commit saved is a transaction,
 * its WAL writes, a socket write and a hive wake-up (issue 10). A lone task is never busy: it commits
 * and goes at once. Small against a tiny task's queued work (a bee runs one in ~0.1-0.3 ms under
 * load, and 4 or more wait in its pipeline), so the pipeline does not run dry while it waits.
 */
export const COMMIT_COALESCE_MS = 1;

/** How a staged message relates to the commit: see CommitThenSend. */
type Need = 'commit' | 'committed' | 'lazy';

/**
 * Messages that must not leave the queen before the ledger holds what they announce: a `task.assign`
 * (its attempt and token must survive a queen crash, or the same attempt could be sent twice) and a
 * `result.ack` (the hive drops the result once acknowledged). They are staged and sent together
 * after ONE ledger commit in the next check phase (setImmediate): every frame read in one event-loop
 * iteration, from every hive, shares that commit, so a busy queen commits per iteration, not per
 * message. (A microtask would commit once per socket read.) While every assign waiting for the
 * commit goes to a busy hive, commits are spaced COMMIT_COALESCE_MS apart.
 *
 * An assign whose attempt is already committed (a new task placed before its create commit, see
 * Dispatch.place) needs no commit: when nothing else staged needs one, it goes at once, and held
 * acks whose results are still written behind stay held rather than pull that write onto the new
 * task's path (back-to-back lone tasks: the previous result's commit waited in front of every assign).
 */
export class CommitThenSend {
  #staged: { hive: HiveSession; msg: QueenToHive; need: Need }[] = [];
  #scheduled = false;
  #holdTimer: NodeJS.Timeout | null = null;
  #coalesceTimer: NodeJS.Timeout | null = null;
  /** When the last commit was made (performance.now()). */
  #lastCommit = -Infinity;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly log: Logger,
    private readonly coalesceMs = COMMIT_COALESCE_MS,
  ) {}

  /** Stage a message for the next check phase; `committed`: what it announces is already in the ledger. */
  stage(hive: HiveSession, msg: QueenToHive, committed = false): void {
    this.#staged.push({ hive, msg, need: committed ? 'committed' : 'commit' });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  /** Stage a message that may wait up to ACK_HOLD_MS for the next flush (a result ack). */
  stageLazy(hive: HiveSession, msg: QueenToHive): void {
    this.#staged.push({ hive, msg, need: 'lazy' });
    if (!this.#scheduled) this.#hold();
  }

  #hold(): void {
    // A coalesced commit pending takes the held acks with it.
    if (this.#holdTimer || this.#coalesceTimer) return;
    this.#holdTimer = setTimeout(() => this.flush(), ACK_HOLD_MS);
    this.#holdTimer.unref();
  }

  #clearHold(): void {
    if (this.#holdTimer) {
      clearTimeout(this.#holdTimer);
      this.#holdTimer = null;
    }
  }

  /** The check phase: commit and send all, unless only committed assigns and held acks wait (see above). */
  #turn(): void {
    if (this.ledger.pendingUpdates === 0) {
      this.flush();
      return;
    }
    if (this.#staged.some((s) => s.need === 'commit')) {
      const wait = this.#lastCommit + this.coalesceMs - performance.now();
      if (wait > 0 && this.#allBusy()) {
        // Every later stage gets a turn of its own, which commits at once if a hive is no longer busy.
        // Held acks go with this commit rather than on their own hold.
        this.#scheduled = false;
        this.#clearHold();
        this.#coalesceTimer ??= setTimeout(() => {
          this.#coalesceTimer = null;
          this.flush();
        }, wait);
        return;
      }
      this.flush();
      return;
    }
    this.#scheduled = false;
    const now = this.#staged.filter((s) => s.need === 'committed');
    this.#staged = this.#staged.filter((s) => s.need !== 'committed');
    this.#send(now);
    // The acks left behind wait for their hold (or the next flush), as a lone one does.
    if (this.#staged.length > 0) this.#hold();
  }

  /** Commit, then send what is staged (also called before a direct send that must not overtake it). */
  flush(): void {
    this.#scheduled = false;
    this.#clearHold();
    if (this.#coalesceTimer) {
      clearTimeout(this.#coalesceTimer);
      this.#coalesceTimer = null;
    }
    if (this.#staged.length === 0) return;
    const batch = this.#staged;
    this.#staged = [];
    try {
      if (this.ledger.pendingUpdates > 0) this.#lastCommit = performance.now();
      this.ledger.flush();
    } catch (e) {
      // Nothing announced is sent: unsent assigns are reclaimed by their deadline, unacked results resent by the hive.
      this.log.error(`ledger commit failed; ${batch.length} assign/ack messages held back: ${(e as Error).message}`);
      return;
    }
    this.#send(batch);
  }

  /**
   * Every hive an assign waits for the commit to reach is busy: of its pipeline (capacity), at least
   * half is tasks already sent to it (in flight, minus those staged here), so its bees have work
   * queued behind the running ones.
   */
  #allBusy(): boolean {
    let last: HiveSession | null = null;
    for (const s of this.#staged) {
      // Staged messages come in runs per hive (usually one hive): each run's hive is checked once.
      if (s.need !== 'commit' || s.hive === last) continue;
      last = s.hive;
      let waiting = 0;
      for (const x of this.#staged) if (x.hive === last && x.msg.type === 'task.assign') waiting++;
      if (2 * (last.inFlight.size - waiting) < last.capacity) return false;
    }
    return true;
  }

  #send(batch: readonly { hive: HiveSession; msg: QueenToHive }[]): void {
    for (const { hive, msg } of batch) hive.send(msg);
    // Already in the check phase: write each hive's frame now rather than one loop iteration later.
    let last: HiveSession | null = null;
    for (const { hive } of batch) {
      if (hive === last) continue;
      last = hive;
      hive.flush();
    }
  }
}
