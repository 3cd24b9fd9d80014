import type { Logger } from '@apiary/runtime';
import { PRUNE_BATCH, type RetentionPolicy } from './retention.js';

/** A ledger that can drop finished tasks (the SQLite one; an ephemeral queen's memory ledger cannot). */
export interface PrunableLedger {
  /** Delete up to `limit` finished tasks past the policy; returns how many went. */
  pruneBatch(policy: RetentionPolicy, now: number, limit: number): number;
  /** Return freed pages to the file system. */
  vacuum(): void;
}

export interface PruneReport {
  pruned: number;
  durationMs: number;
}

/**
 * Applies the retention policy every intervalMs, and on request (`keeper tasks prune`). A run is a
 * series of small batches with a turn of the event loop between them, so hive messages and API
 * calls are served while a large backlog is pruned; runs never overlap (a request waits for the
 * run in progress, then makes its own).
 */
export class RetentionRunner {
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly ledger: PrunableLedger,
    readonly policy: RetentionPolicy,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => {
      this.run().catch((e) => this.log.warn(`retention: ${(e as Error).message}`));
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Prune everything past `policy` (default: the configured one). */
  run(policy: RetentionPolicy = this.policy): Promise<PruneReport> {
    const next = this.#chain.then(() => this.#run(policy));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #run(policy: RetentionPolicy): Promise<PruneReport> {
    const started = Date.now();
    let pruned = 0;
    for (;;) {
      if (this.#stopped) break;
      const n = this.ledger.pruneBatch(policy, Date.now(), PRUNE_BATCH);
      pruned += n;
      if (n < PRUNE_BATCH) break;
      await new Promise((r) => setImmediate(r));
    }
    if (pruned > 0 && !this.#stopped) {
      this.ledger.vacuum();
      this.log.info(`retention: pruned ${pruned} finished task(s)`, { durationMs: Date.now() - started });
    }
    return { pruned, durationMs: Date.now() - started };
  }

  /** No more runs; a batch in progress finishes (it is synchronous), the rest of its run is skipped. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
