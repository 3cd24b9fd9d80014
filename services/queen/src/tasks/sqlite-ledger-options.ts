/** SqliteLedger's options (sqlite-ledger.ts) and the limit it puts on its finished-task cache. */
import type Database from 'better-sqlite3';
import type { ApiaryError } from '@apiary/protocol';

export interface SqliteLedgerOptions {
  /** The queen's database (db/queen-db.ts), migrated; its opener closes it after the ledger. */
  db: Database.Database;
  /** Where results too large to keep inline go, one `<id>.json` each. Without it every result is inline. */
  resultsDir?: string;
  /** Results whose JSON is larger than this go to a file (default 256 KiB). */
  inlineResultMaxBytes?: number;
  /** Finished tasks kept in memory after they are written (default 10,000). */
  cacheSize?: number;
  /**
   * Called when a deferred write fails; the updates stay pending and are retried with the next flush.
   * Without it the error is thrown from the flush callback: the process stops rather than run on
   * with a ledger it cannot write.
   */
  onError?: (err: ApiaryError) => void;
  /** How long updates wait to share a transaction (default FLUSH_WINDOW_MS; tests widen it). */
  flushWindowMs?: number;
}

/** A ceiling on cached result bytes, so 10k cached big results cannot exhaust memory. */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;
