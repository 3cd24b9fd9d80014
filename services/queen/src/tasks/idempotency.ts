import { sha256Hex } from '@apiary/runtime';
import type { Database } from 'better-sqlite3';
import { ApiaryError, IDEMPOTENCY_KEY, IDEMPOTENCY_RETENTION_MS } from '@apiary/protocol';
import type { TaskLedger, TaskRecord } from './ledger.js';

/** One remembered submission: which request it was and the tasks it made. */
export interface IdempotencyEntry {
  requestHash: string;
  taskIds: string[];
  createdAt: number;
}

/** Where entries live: the ledger's SQLite for a daemon (same database, same transaction), or memory. */
interface EntryRows {
  get(tokenId: string, key: string): IdempotencyEntry | undefined;
  put(tokenId: string, key: string, e: IdempotencyEntry): void;
  pruneBefore(t: number): void;
  /** Run fn in one transaction (nested ledger transactions become savepoints of it). */
  atomically<T>(fn: () => T): T;
}

/** Expired keys are deleted at most this often (on a submission), so the table stays bounded. */
const PRUNE_EVERY_MS = 60_000;

/** sha256 of what the key promises: the route and the body as sent. */
export function requestHash(route: string, body: unknown): string {
  return sha256Hex(`${route}\n${JSON.stringify(body ?? null)}`);
}

/** The header's value, checked; undefined when the request has none. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new ApiaryError('BAD_REQUEST', 'Idempotency-Key must be one header of 1-255 printable ASCII characters without spaces');
  }
  return header;
}

/**
 * Idempotency-Key on task submission. A key is per principal (token id): the same key from another
 * token is another key. The entry is written inside the ledger transaction that creates the tasks
 * (see `attach`), so a queen killed at any instant has either both or neither: a client retrying
 * after a timeout or a crash never gets a duplicate.
 */
export class Idempotency {
  #pending: { tokenId: string; key: string; hash: string } | null = null;
  #lastPrune = 0;

  private constructor(private readonly rows: EntryRows) {}

  static sqlite(db: Database): Idempotency {
    return new Idempotency(new SqliteEntryRows(db));
  }

  static memory(): Idempotency {
    return new Idempotency(new MemoryEntryRows());
  }

  /** Make the ledger record the pending key in the same transaction as the tasks it creates. */
  attach(ledger: TaskLedger): void {
    const createMany = ledger.createMany.bind(ledger);
    ledger.createMany = (recs: TaskRecord[]) => {
      const p = this.#pending;
      if (!p) return createMany(recs);
      this.#pending = null;
      const now = Date.now();
      this.rows.atomically(() => {
        createMany(recs);
        this.rows.put(p.tokenId, p.key, { requestHash: p.hash, taskIds: recs.map((r) => r.id), createdAt: now });
      });
      if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
        this.#lastPrune = now;
        this.rows.pruneBefore(now - IDEMPOTENCY_RETENTION_MS);
      }
    };
  }

  /**
   * The task ids a key already made (a retry), or undefined (a first request). The same key with
   * another request is IDEMPOTENCY_KEY_REUSED: the client has a bug, and guessing would hide it.
   */
  replay(tokenId: string, key: string, hash: string): string[] | undefined {
    const e = this.rows.get(tokenId, key);
    if (!e || Date.now() - e.createdAt > IDEMPOTENCY_RETENTION_MS) return undefined;
    if (e.requestHash !== hash) {
      throw new ApiaryError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${JSON.stringify(key)} was already used with a different request: use a new key for a new request`,
      );
    }
    return e.taskIds;
  }

  /** Run a submission that creates tasks (synchronously) with the key recorded alongside them. */
  submit<T>(tokenId: string, key: string, hash: string, create: () => T): T {
    this.#pending = { tokenId, key, hash };
    try {
      return create();
    } finally {
      this.#pending = null;
    }
  }
}

class SqliteEntryRows implements EntryRows {
  readonly #get;
  readonly #put;
  readonly #prune;
  /** Made once: db.transaction() builds a wrapper (several functions) per call. */
  readonly #tx;

  constructor(db: Database) {
    this.#tx = db.transaction((fn: () => unknown) => fn());
    this.#get = db.prepare('SELECT request_hash, task_ids, created_at FROM idempotency_keys WHERE token_id = ? AND key = ?');
    // REPLACE: an expired entry for the key is superseded.
    this.#put = db.prepare('INSERT OR REPLACE INTO idempotency_keys (token_id, key, request_hash, task_ids, created_at) VALUES (?, ?, ?, ?, ?)');
    this.#prune = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  }

  get(tokenId: string, key: string): IdempotencyEntry | undefined {
    const r = this.#get.get(tokenId, key) as { request_hash: string; task_ids: string; created_at: number } | undefined;
    return r && { requestHash: r.request_hash, taskIds: JSON.parse(r.task_ids) as string[], createdAt: r.created_at };
  }
  put(tokenId: string, key: string, e: IdempotencyEntry): void {
    this.#put.run(tokenId, key, e.requestHash, JSON.stringify(e.taskIds), e.createdAt);
  }
  pruneBefore(t: number): void {
    this.#prune.run(t);
  }
  atomically<T>(fn: () => T): T {
    return this.#tx.immediate(fn) as T;
  }
}

class MemoryEntryRows implements EntryRows {
  readonly #rows = new Map<string, IdempotencyEntry>();

  get(tokenId: string, key: string): IdempotencyEntry | undefined {
    return this.#rows.get(`${tokenId}\n${key}`);
  }
  put(tokenId: string, key: string, e: IdempotencyEntry): void {
    this.#rows.set(`${tokenId}\n${key}`, e);
  }
  pruneBefore(t: number): void {
    for (const [k, e] of this.#rows) if (e.createdAt < t) this.#rows.delete(k);
  }
  atomically<T>(fn: () => T): T {
    return fn();
  }
}
