import type { HiveToQueen } from '@apiary/protocol';

export type ResultMessage = Extract<HiveToQueen, { type: 'task.succeeded' | 'task.failed' }>;

/** How long a reported result is kept: far longer than a queen takes to read and record one. */
export const RECENT_RESULTS_MS = 30_000;
/** At most this many are kept (the oldest go first), so a fast stream of tasks stays bounded. */
export const RECENT_RESULTS_MAX = 1000;

/**
 * The results a persistent hive reported lately, by task and attempt. A result written to a queen
 * that dies a moment later may never have been read or recorded (the socket's close is seen only
 * after the writes succeeded locally; the queen's ledger writes trail by a few ms). So after the
 * connection closes, these are sent again to the next queen, which ignores the ones it recorded;
 * and if a restarted queen assigns the very same attempt again (it never recorded assigning it),
 * the hive answers with the result instead of running the task a second time.
 */
export class RecentResults {
  readonly #byKey = new Map<string, { at: number; msg: ResultMessage }>();

  remember(msg: ResultMessage, now = Date.now()): void {
    // A task cancelled while queued never ran: nothing to repeat, and a re-assignment must run it.
    if (msg.type === 'task.failed' && msg.error.code === 'TASK_CANCELLED') return;
    const key = keyOf(msg.taskId, msg.attempt);
    this.#byKey.delete(key);
    this.#byKey.set(key, { at: now, msg });
    this.#prune(now);
  }

  /** The result already reported for this attempt, if it is recent. */
  get(taskId: string, attempt: number, now = Date.now()): ResultMessage | undefined {
    this.#prune(now);
    return this.#byKey.get(keyOf(taskId, attempt))?.msg;
  }

  /** Every recent result, oldest first. */
  all(now = Date.now()): ResultMessage[] {
    this.#prune(now);
    return [...this.#byKey.values()].map((e) => e.msg);
  }

  #prune(now: number): void {
    // Insertion order is time order: drop from the front.
    for (const [key, e] of this.#byKey) {
      if (now - e.at <= RECENT_RESULTS_MS && this.#byKey.size <= RECENT_RESULTS_MAX) break;
      this.#byKey.delete(key);
    }
  }
}

function keyOf(taskId: string, attempt: number): string {
  return `${attempt}:${taskId}`;
}
