import type { HiveToQueen } from '@apiary/protocol';

export type ResultMessage = Extract<HiveToQueen, { type: 'task.succeeded' | 'task.failed' }>;

/** How long an acknowledged result is still kept (to answer a repeated assignment of the same attempt). */
export const RECENT_RESULTS_MS = 30_000;
/** At most this many acknowledged results are kept (the oldest go first), so a fast stream of tasks stays bounded. */
export const RECENT_RESULTS_MAX = 1000;
/**
 * At most this many unacknowledged results are kept. A queen acknowledges within a commit window, so
 * reaching this means no queen has been reachable for a long while; the oldest are dropped (the
 * queen's deadline per attempt and reclaim re-run those tasks).
 */
export const UNACKED_RESULTS_MAX = 10_000;

/**
 * The results a persistent hive reported, by task and attempt. A result written to a queen that dies
 * a moment later may never have been read or recorded, so each is kept until the queen acknowledges
 * it (`result.ack`, sent after its ledger commit); after the connection closes the unacknowledged
 * ones are claimed in the next `hello` and sent again after `welcome`. Acknowledged ones stay a short
 * while so a repeated assignment of the very same attempt (same token) is answered, not re-run.
 */
export class RecentResults {
  /** Not yet acknowledged, oldest first. */
  readonly #unacked = new Map<string, ResultMessage>();
  /** Acknowledged, by acknowledgement time (Map order), pruned by age and count. */
  readonly #acked = new Map<string, { at: number; msg: ResultMessage }>();

  remember(msg: ResultMessage, now = Date.now()): void {
    // A task cancelled while queued never ran: nothing to repeat, and a re-assignment must run it.
    if (msg.type === 'task.failed' && msg.error.code === 'TASK_CANCELLED') return;
    const key = keyOf(msg.taskId, msg.attempt);
    this.#acked.delete(key);
    this.#unacked.delete(key);
    this.#unacked.set(key, msg);
    for (const k of this.#unacked.keys()) {
      if (this.#unacked.size <= UNACKED_RESULTS_MAX) break;
      this.#unacked.delete(k);
    }
    this.#prune(now);
  }

  /** The queen committed (or refused) this result: stop resending it. A token that differs is ignored. */
  ack(taskId: string, attempt: number, token: string, now = Date.now()): void {
    const key = keyOf(taskId, attempt);
    const msg = this.#unacked.get(key);
    if (!msg || msg.token !== token) return;
    this.#unacked.delete(key);
    this.#acked.set(key, { at: now, msg });
    this.#prune(now);
  }

  /** The result already reported for this very attempt (same token), if still kept. */
  get(taskId: string, attempt: number, token: string, now = Date.now()): ResultMessage | undefined {
    this.#prune(now);
    const key = keyOf(taskId, attempt);
    const m = this.#unacked.get(key) ?? this.#acked.get(key)?.msg;
    return m?.token === token ? m : undefined;
  }

  /** Every result the queen has not acknowledged, oldest first. */
  unacked(): ResultMessage[] {
    return [...this.#unacked.values()];
  }

  #prune(now: number): void {
    // Map order is acknowledgement order: drop from the front.
    for (const [key, e] of this.#acked) {
      if (now - e.at <= RECENT_RESULTS_MS && this.#acked.size <= RECENT_RESULTS_MAX) break;
      this.#acked.delete(key);
    }
  }
}

function keyOf(taskId: string, attempt: number): string {
  return `${attempt}:${taskId}`;
}
