import type { QueenToHive } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import type { TaskLedger } from './ledger.js';

/**
 * Messages that must not leave the queen before the ledger holds what they announce: a `task.assign`
 * (its attempt and token must survive a queen crash, or the same attempt could be sent twice) and a
 * `result.ack` (the hive drops the result once acknowledged). They are staged and sent together
 * after ONE ledger commit in the next check phase (setImmediate): every frame read in one event-loop
 * iteration, from every hive, shares that commit, so a busy queen commits per iteration, not per
 * message. (A microtask would commit once per socket read.)
 */
export class CommitThenSend {
  #staged: { hive: HiveSession; msg: QueenToHive }[] = [];
  #scheduled = false;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly log: Logger,
  ) {}

  stage(hive: HiveSession, msg: QueenToHive): void {
    this.#staged.push({ hive, msg });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commit, then send what is staged (also called before a direct send that must not overtake it). */
  flush(): void {
    this.#scheduled = false;
    if (this.#staged.length === 0) return;
    const batch = this.#staged;
    this.#staged = [];
    try {
      this.ledger.flush();
    } catch (e) {
      // Nothing announced is sent: unsent assigns are reclaimed by their deadline, unacked results resent by the hive.
      this.log.error(`ledger commit failed; ${batch.length} assign/ack messages held back: ${(e as Error).message}`);
      return;
    }
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
