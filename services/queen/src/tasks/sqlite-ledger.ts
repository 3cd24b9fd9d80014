import { mkdirSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { ApiaryError } from '@apiary/protocol';
import { isLive, type ListFilter, type TaskLedger, type TaskRecord } from './ledger.js';
import { bumpEpoch } from './epoch.js';
import { LedgerSql, type Hydrated, type TaskRow } from './ledger-sql.js';
import { Lru } from './ledger-lru.js';
import { ResultSpill } from './result-spill.js';
import type { StoredRow } from './stored-row.js';
import { TaskPruner, type RetentionPolicy } from './retention.js';
import { WriteBehind } from './write-behind.js';
import { CACHE_MAX_BYTES, type SqliteLedgerOptions } from './sqlite-ledger-options.js';

/**
 * The durable task ledger of the queen daemon, in the queen's SQLite database (WAL).
 *
 * - create/createMany are written (committed) before they return: the queen acknowledges a task
 *   only once it is recorded.
 * - update() is write-behind (write-behind.ts): updates are coalesced per task and written in one
 *   transaction at the end of a short window, or at once when many are waiting, and on flush() and
 *   close(). A crash therefore loses at most that window's updates; the tasks themselves were
 *   recorded at create and come back as queued/running.
 * - Identity: queued and running records live in memory and get() returns the same object each
 *   time (the scheduler mutates them in place). Finished ones move to a bounded LRU once written,
 *   and are read back from SQLite (as new objects) after they fall out of it.
 * - Large results go to files (result-spill.ts); SQL and row mapping are in ledger-sql.ts.
 * - One queen per database: the in-memory view assumes no other writer.
 */
export class SqliteLedger implements TaskLedger {
  readonly #db: Database.Database;
  readonly #sql: LedgerSql;
  readonly #spill: ResultSpill;
  readonly #onError: ((err: ApiaryError) => void) | undefined;
  /** Queued and running tasks; Map order is creation order. */
  readonly #live = new Map<string, TaskRecord>();
  readonly #cache: Lru;
  readonly #pending: WriteBehind;
  /** Each record's row as last written or read: an update writes only what changed (see LedgerSql.updateMany). */
  readonly #written = new WeakMap<TaskRecord, StoredRow>();
  #closed = false;
  /** The newest createdAt recorded: no task is recorded as created before it (see createMany). */
  #lastCreatedAt = 0;
  #pruner: TaskPruner | null = null;
  /** Bumped at every open: this queen's epoch (see epoch.ts). */
  readonly epoch: number;

  constructor(opts: SqliteLedgerOptions) {
    this.#db = opts.db;
    this.#spill = new ResultSpill(opts.resultsDir ?? null, opts.inlineResultMaxBytes ?? 256 * 1024);
    this.#onError = opts.onError;
    this.#cache = new Lru(opts.cacheSize ?? 10_000, CACHE_MAX_BYTES);
    this.#pending = new WriteBehind(() => this.#flushDeferred(), opts.flushWindowMs);
    try {
      if (opts.resultsDir) mkdirSync(opts.resultsDir, { recursive: true });
      this.epoch = bumpEpoch(this.#db);
      this.#sql = new LedgerSql(this.#db, this.#spill);
      for (const row of this.#sql.liveRows()) this.#live.set(row.id, this.#hydrate(row));
      this.#lastCreatedAt = this.#sql.lastCreatedAt();
    } catch (e) {
      throw e instanceof ApiaryError ? e : new ApiaryError('INTERNAL', `cannot open the task ledger: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  create(rec: TaskRecord): void {
    this.createMany([rec]);
  }

  createMany(recs: TaskRecord[]): void {
    this.#assertOpen();
    // createdAt never goes back in creation order (a clock stepped back, a caller's own time): the
    // listings take the newest tasks as the last rows created (migration 9).
    let last = this.#lastCreatedAt;
    for (const r of recs) {
      this.#spill.checkId(r.id);
      if (r.createdAt < last) r.createdAt = last;
      else last = r.createdAt;
    }
    let rows: StoredRow[];
    try {
      rows = this.#sql.insertMany(recs);
    } catch (e) {
      if (e instanceof ApiaryError) throw e;
      const dup = (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
      throw new ApiaryError('INTERNAL', dup ? `task id already exists: ${(e as Error).message}` : `cannot record tasks: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
    // Only after the commit: a failed batch leaves no trace in memory either.
    this.#lastCreatedAt = last;
    recs.forEach((r, i) => {
      const row = rows[i]!;
      this.#written.set(r, row);
      if (isLive(r)) this.#live.set(r.id, r);
      else this.#cache.set(r.id, r, row.bytes);
    });
  }

  get(id: string): TaskRecord | undefined {
    this.#assertOpen();
    const hit = this.#live.get(id) ?? this.#pending.get(id) ?? this.#cache.get(id);
    if (hit) return hit;
    const row = this.#sql.byId(id);
    if (!row) return undefined;
    const rec = this.#hydrate(row);
    // Not expected (live tasks are always in memory), but keeps the identity rule if it happens.
    if (isLive(rec)) this.#live.set(id, rec);
    else this.#cache.set(id, rec, this.#written.get(rec)!.bytes);
    return rec;
  }

  update(rec: TaskRecord): void {
    this.#assertOpen();
    // A task back from a finished state (not done by the scheduler) is live again.
    if (isLive(rec) && this.#live.get(rec.id) !== rec) {
      this.#live.set(rec.id, rec);
      this.#cache.delete(rec.id);
    }
    if (this.#pending.add(rec)) this.#flushNow();
  }

  list(filter: ListFilter): TaskRecord[] {
    this.#assertOpen();
    // Every live task is in memory, and a running one's row may still say queued (stored-row.ts).
    if (filter.state === 'queued' || filter.state === 'running') return this.#newestLive(filter.state, filter.limit);
    this.#flushNow();
    // Held records are returned as themselves; the others are read back but not cached (a listing is a scan).
    return this.#sql.newest(filter.limit, filter.state).map((row) => this.#live.get(row.id) ?? this.#cache.peek(row.id) ?? this.#hydrate(row));
  }

  /** Newest first: createdAt never goes back in creation order (createMany), but a retried task is re-inserted in #live. */
  #newestLive(state: TaskRecord['state'], limit: number): TaskRecord[] {
    const hits = [...this.#live.values()].filter((t) => t.state === state).reverse();
    return hits.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  nonTerminal(): TaskRecord[] {
    this.#assertOpen();
    // Stable sort of creation order: equal createdAt stays in creation order.
    return [...this.#live.values()].filter(isLive).sort((a, b) => a.createdAt - b.createdAt);
  }

  get pendingUpdates(): number {
    return this.#pending.size;
  }

  /** Write pending updates now (close() and list() do). */
  flush(): void {
    this.#assertOpen();
    this.#flushNow();
  }

  /** Retention (retention.ts): delete up to `limit` finished tasks past the policy, and forget them here. */
  pruneBatch(policy: RetentionPolicy, now: number, limit: number): number {
    this.#assertOpen();
    // Finished in memory but not yet written still reads as running: write first, so it can be judged.
    this.#flushNow();
    this.#pruner ??= new TaskPruner(this.#db, this.#spill.dir);
    const { ids } = this.#pruner.batch(policy, now, limit);
    for (const id of ids) this.#cache.delete(id);
    return ids.length;
  }

  /**
   * Hand pages freed by pruning back to the file system (auto_vacuum=INCREMENTAL, migration 4). In WAL
   * mode the file shrinks at a checkpoint; TRUNCATE also resets the WAL, which otherwise keeps the
   * size of the largest burst of writes since it was created.
   */
  vacuum(): void {
    this.#assertOpen();
    this.#db.pragma('incremental_vacuum');
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Idle (from the idle GC's quiet hook): drop the finished-task cache and SQLite's page cache, so
   * memory goes back near fresh after a burst (issue 14: ~10 MiB after 100,000 tasks); results are
   * read back from SQLite. Returns the records dropped (none cached: no work since the last call).
   */
  dropCache(): number {
    if (this.#closed) return 0;
    const n = this.#cache.size;
    if (n === 0) return 0;
    this.#cache.clear();
    this.#db.pragma('shrink_memory');
    return n;
  }

  /** Write what is pending and stop; the database itself is closed by whoever opened it. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#flushNow();
    } finally {
      this.#closed = true;
      this.#live.clear();
      this.#cache.clear();
      this.#pending.clear();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ApiaryError('INTERNAL', 'the task ledger is closed');
  }

  #flushDeferred(): void {
    if (this.#closed) return;
    try {
      this.#flushNow();
    } catch (e) {
      const err = e instanceof ApiaryError ? e : new ApiaryError('INTERNAL', String(e));
      if (!this.#onError) throw err;
      this.#onError(err);
    }
  }

  #flushNow(): void {
    const recs = this.#pending.take();
    if (recs.length === 0) return;
    let rows: (StoredRow | undefined)[];
    try {
      rows = this.#sql.updateMany(recs, (r) => this.#written.get(r));
    } catch (e) {
      // Nothing was committed: keep them pending, and forget their rows as known (updated in place
      // during the transaction): the retry writes them whole.
      for (const r of recs) this.#written.delete(r);
      this.#pending.restore(recs);
      if (e instanceof ApiaryError) throw e;
      throw new ApiaryError('INTERNAL', `cannot write task updates: ${(e as Error).message}`, undefined, { cause: e });
    }
    recs.forEach((r, i) => {
      const row = rows[i];
      if (row === undefined) {
        // Never created: as with MemoryLedger, there is nothing to update.
        if (this.#live.get(r.id) === r) this.#live.delete(r.id);
        return;
      }
      this.#written.set(r, row);
      if (!isLive(r)) {
        this.#live.delete(r.id);
        this.#cache.set(r.id, r, row.bytes);
      }
    });
  }

  #hydrate(row: TaskRow): TaskRecord {
    const { rec, stored }: Hydrated = this.#sql.hydrate(row);
    this.#written.set(rec, stored);
    return rec;
  }
}
