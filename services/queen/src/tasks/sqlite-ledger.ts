import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { ApiaryError, type AttemptView, type TaskValue } from '@apiary/protocol';
import { isLive, type ListFilter, type TaskLedger, type TaskRecord } from './ledger.js';
import { bumpEpoch } from './epoch.js';
import { migrate } from './migrations.js';
import { TaskPruner, type RetentionPolicy } from './retention.js';
import { storedSpec } from './stored-spec.js';

export interface SqliteLedgerOptions {
  /** Database file, or ':memory:' (tests). */
  file: string;
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
}

/** More pending updates than this are written at once rather than at the end of the turn. */
const MAX_PENDING = 1000;
/**
 * Updates wait this long to share one transaction. Each hive message arrives in its own event-loop
 * turn, so flushing per turn meant a commit (a dozen syscalls) per message; 5 ms batches them.
 */
const FLUSH_WINDOW_MS = 5;
/** A ceiling on cached result bytes, so 10k cached big results cannot exhaust memory. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** Ids become file names: keep them to a safe alphabet (the scheduler uses UUIDs). */
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

const COLS = 'id, spec, limits, state, created_at, finished_at, max_attempts, value, value_file, error';

interface TaskRow {
  id: string;
  spec: string;
  limits: string;
  state: TaskRecord['state'];
  created_at: number;
  finished_at: number | null;
  max_attempts: number;
  value: string | null;
  value_file: string | null;
  error: string | null;
}

interface AttemptRow {
  attempt: number;
  hive: string;
  bee: number;
  started_at: number;
  duration_ms: number;
  error: string | null;
  token: string | null;
}

/** The value columns as written: inline JSON or a file name, and its size for the cache. */
interface ValueCols {
  json: string | null;
  file: string | null;
  bytes: number;
}

/**
 * The durable task ledger of the queen daemon: SQLite in WAL mode.
 *
 * - create/createMany are written (committed) before they return: the queen acknowledges a task
 *   only once it is recorded.
 * - update() is write-behind: updates are coalesced per task and written in one transaction at the
 *   end of a short window (FLUSH_WINDOW_MS), or at once when MAX_PENDING are waiting, and on
 *   close(). A crash therefore loses at most that window's updates; the tasks themselves
 *   were recorded at create and come back as queued/running.
 * - Identity: queued and running records live in memory and get() returns the same object each
 *   time (the scheduler mutates them in place). Finished ones move to a bounded LRU once written,
 *   and are read back from SQLite (as new objects) after they fall out of it.
 * - One queen per database: the in-memory view assumes no other writer.
 */
export class SqliteLedger implements TaskLedger {
  readonly #db: Database.Database;
  readonly #resultsDir: string | null;
  readonly #inlineMax: number;
  readonly #onError: ((err: ApiaryError) => void) | undefined;
  /** Queued and running tasks; Map order is creation order. */
  readonly #live = new Map<string, TaskRecord>();
  readonly #cache: Lru;
  readonly #pending = new Map<string, TaskRecord>();
  /** The value object last written per record (and its size), so a repeated update does not re-serialize it. */
  readonly #written = new WeakMap<TaskRecord, { value: TaskValue | null; bytes: number }>();
  #flushTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #pruner: TaskPruner | null = null;
  /** Bumped at every open: this queen's epoch (see epoch.ts). */
  readonly epoch: number;

  readonly #insert: Statement<unknown[]>;
  readonly #update: Statement<unknown[]>;
  readonly #updateWithValue: Statement<unknown[]>;
  readonly #upsertAttempt: Statement<unknown[]>;
  readonly #byId: Statement<[string], TaskRow>;
  readonly #attemptsOf: Statement<[string], AttemptRow>;
  readonly #liveRows: Statement<[], TaskRow>;
  readonly #newest: Statement<[number], TaskRow>;
  readonly #newestIn: Statement<[string, number], TaskRow>;
  readonly #insertTx: (recs: TaskRecord[]) => ValueCols[];
  readonly #flushTx: (recs: TaskRecord[]) => (ValueCols | null | undefined)[];

  /** The open database, for stores that live beside the ledger (the node registry). */
  get database(): Database.Database {
    return this.#db;
  }

  constructor(opts: SqliteLedgerOptions) {
    this.#resultsDir = opts.resultsDir ?? null;
    this.#inlineMax = opts.inlineResultMaxBytes ?? 256 * 1024;
    this.#onError = opts.onError;
    this.#cache = new Lru(opts.cacheSize ?? 10_000, CACHE_MAX_BYTES);
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    if (this.#resultsDir) mkdirSync(this.#resultsDir, { recursive: true });

    // timeout is SQLite's busy timeout: wait out a checkpoint or a reader instead of failing.
    const db = new Database(opts.file, { timeout: 5000 });
    this.#db = db;
    try {
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last commits.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      this.epoch = bumpEpoch(db);

      this.#insert = db.prepare(
        `INSERT INTO tasks (id, kind, spec, limits, state, created_at, finished_at, max_attempts, value, value_file, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.#update = db.prepare('UPDATE tasks SET state = ?, finished_at = ?, max_attempts = ?, error = ? WHERE id = ?');
      this.#updateWithValue = db.prepare('UPDATE tasks SET state = ?, finished_at = ?, max_attempts = ?, error = ?, value = ?, value_file = ? WHERE id = ?');
      // Attempts only grow and are mutated in place, so every update rewrites them all (rarely > 1).
      this.#upsertAttempt = db.prepare(
        `INSERT INTO attempts (task_id, attempt, hive, bee, started_at, duration_ms, error, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (task_id, attempt) DO UPDATE SET hive = excluded.hive, bee = excluded.bee,
           started_at = excluded.started_at, duration_ms = excluded.duration_ms, error = excluded.error, token = excluded.token`,
      );
      this.#byId = db.prepare(`SELECT ${COLS} FROM tasks WHERE id = ?`);
      this.#attemptsOf = db.prepare('SELECT attempt, hive, bee, started_at, duration_ms, error, token FROM attempts WHERE task_id = ? ORDER BY attempt');
      this.#liveRows = db.prepare(`SELECT ${COLS} FROM tasks WHERE state IN ('queued', 'running') ORDER BY created_at, seq`);
      this.#newest = db.prepare(`SELECT ${COLS} FROM tasks ORDER BY created_at DESC, seq DESC LIMIT ?`);
      this.#newestIn = db.prepare(`SELECT ${COLS} FROM tasks WHERE state = ? ORDER BY created_at DESC, seq DESC LIMIT ?`);

      this.#insertTx = db.transaction((recs: TaskRecord[]) => recs.map((r) => this.#insertRow(r))).immediate;
      this.#flushTx = db.transaction((recs: TaskRecord[]) => recs.map((r) => this.#updateRow(r))).immediate;

      // all(), not iterate(): hydrating runs other statements, which an open iterator would forbid.
      for (const row of this.#liveRows.all()) this.#live.set(row.id, this.#hydrate(row));
    } catch (e) {
      db.close();
      throw e instanceof ApiaryError
        ? e
        : new ApiaryError('INTERNAL', `cannot open task ledger ${opts.file}: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  create(rec: TaskRecord): void {
    this.createMany([rec]);
  }

  createMany(recs: TaskRecord[]): void {
    this.#assertOpen();
    if (this.#resultsDir) {
      for (const r of recs) if (!SAFE_ID.test(r.id)) throw new ApiaryError('INTERNAL', `task id ${JSON.stringify(r.id)} cannot name a result file`);
    }
    let cols: ValueCols[];
    try {
      cols = this.#insertTx(recs);
    } catch (e) {
      if (e instanceof ApiaryError) throw e;
      const dup = (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
      throw new ApiaryError('INTERNAL', dup ? `task id already exists: ${(e as Error).message}` : `cannot record tasks: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
    // Only after the commit: a failed batch leaves no trace in memory either.
    recs.forEach((r, i) => {
      const bytes = cols[i]!.bytes;
      this.#written.set(r, { value: r.value, bytes });
      if (isLive(r)) this.#live.set(r.id, r);
      else this.#cache.set(r.id, r, bytes);
    });
  }

  get(id: string): TaskRecord | undefined {
    this.#assertOpen();
    const hit = this.#live.get(id) ?? this.#pending.get(id) ?? this.#cache.get(id);
    if (hit) return hit;
    const row = this.#byId.get(id);
    if (!row) return undefined;
    const rec = this.#hydrate(row);
    // Not expected (live tasks are always in memory), but keeps the identity rule if it happens.
    if (isLive(rec)) this.#live.set(id, rec);
    else this.#cache.set(id, rec, this.#written.get(rec)!.bytes);
    return rec;
  }

  update(rec: TaskRecord): void {
    this.#assertOpen();
    this.#pending.set(rec.id, rec);
    if (isLive(rec)) {
      // A task back from a finished state (not done by the scheduler) is live again.
      if (this.#live.get(rec.id) !== rec) {
        this.#live.set(rec.id, rec);
        this.#cache.delete(rec.id);
      }
    }
    if (this.#pending.size >= MAX_PENDING) this.#flushNow();
    else this.#flushTimer ??= setTimeout(() => this.#flushDeferred(), FLUSH_WINDOW_MS);
  }

  list(filter: ListFilter): TaskRecord[] {
    this.#assertOpen();
    this.#flushNow();
    const rows = filter.state === undefined ? this.#newest.all(filter.limit) : this.#newestIn.all(filter.state, filter.limit);
    // Held records are returned as themselves; the others are read back but not cached (a listing is a scan).
    return rows.map((row) => this.#live.get(row.id) ?? this.#cache.peek(row.id) ?? this.#hydrate(row));
  }

  nonTerminal(): TaskRecord[] {
    this.#assertOpen();
    // Stable sort of creation order: equal createdAt stays in creation order.
    return [...this.#live.values()].filter(isLive).sort((a, b) => a.createdAt - b.createdAt);
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
    this.#pruner ??= new TaskPruner(this.#db, this.#resultsDir);
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

  close(): void {
    if (this.#closed) return;
    try {
      this.#flushNow();
    } finally {
      this.#closed = true;
      this.#db.close();
      this.#live.clear();
      this.#cache.clear();
      this.#pending.clear();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ApiaryError('INTERNAL', 'the task ledger is closed');
  }

  #flushDeferred(): void {
    this.#flushTimer = null;
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
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = null;
    }
    if (this.#pending.size === 0) return;
    const recs = [...this.#pending.values()];
    this.#pending.clear();
    let cols: (ValueCols | null | undefined)[];
    try {
      cols = this.#flushTx(recs);
    } catch (e) {
      // Nothing was committed: keep them pending (behind any newer update of the same task).
      for (const r of recs) if (!this.#pending.has(r.id)) this.#pending.set(r.id, r);
      if (e instanceof ApiaryError) throw e;
      throw new ApiaryError('INTERNAL', `cannot write task updates: ${(e as Error).message}`, undefined, { cause: e });
    }
    recs.forEach((r, i) => {
      const c = cols[i];
      if (c === undefined) {
        // Never created: as with MemoryLedger, there is nothing to update.
        if (this.#live.get(r.id) === r) this.#live.delete(r.id);
        return;
      }
      if (c) this.#written.set(r, { value: r.value, bytes: c.bytes });
      if (!isLive(r)) {
        this.#live.delete(r.id);
        this.#cache.set(r.id, r, this.#written.get(r)?.bytes ?? 0);
      }
    });
  }

  #insertRow(r: TaskRecord): ValueCols {
    const v = this.#valueCols(r);
    this.#insert.run(
      r.id,
      r.spec.kind,
      JSON.stringify(storedSpec(r.spec)),
      JSON.stringify(r.limits),
      r.state,
      r.createdAt,
      r.finishedAt,
      r.maxAttempts,
      v.json,
      v.file,
      r.error === null ? null : JSON.stringify(r.error),
    );
    this.#writeAttempts(r);
    return v;
  }

  /** The value columns written, null when the value was unchanged, undefined when no such task. */
  #updateRow(r: TaskRecord): ValueCols | null | undefined {
    const error = r.error === null ? null : JSON.stringify(r.error);
    let v: ValueCols | null = null;
    let changes: number;
    const w = this.#written.get(r);
    if (w && w.value === r.value) {
      changes = this.#update.run(r.state, r.finishedAt, r.maxAttempts, error, r.id).changes;
    } else {
      v = this.#valueCols(r);
      changes = this.#updateWithValue.run(r.state, r.finishedAt, r.maxAttempts, error, v.json, v.file, r.id).changes;
    }
    if (changes === 0) return undefined;
    this.#writeAttempts(r);
    return v;
  }

  #writeAttempts(r: TaskRecord): void {
    for (const a of r.attempts) {
      this.#upsertAttempt.run(r.id, a.attempt, a.hive, a.bee, a.startedAt, a.durationMs, a.error === null ? null : JSON.stringify(a.error), a.token ?? null);
    }
  }

  /** Serialize a value, sending a large one to `<resultsDir>/<id>.json` (temp file, then rename). */
  #valueCols(r: TaskRecord): ValueCols {
    if (r.value === null) return { json: null, file: null, bytes: 0 };
    const json = JSON.stringify(r.value);
    // UTF-8 is at most 3 bytes per UTF-16 unit: skip measuring what is surely small.
    const big = json.length * 3 > this.#inlineMax && Buffer.byteLength(json) > this.#inlineMax;
    if (!big || !this.#resultsDir) return { json, file: null, bytes: json.length };
    if (!SAFE_ID.test(r.id)) throw new ApiaryError('INTERNAL', `task id ${JSON.stringify(r.id)} cannot name a result file`);
    const file = `${r.id}.json`;
    const path = join(this.#resultsDir, file);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, json);
    renameSync(tmp, path);
    return { json: null, file, bytes: json.length };
  }

  #hydrate(row: TaskRow): TaskRecord {
    const rec: TaskRecord = {
      id: row.id,
      spec: JSON.parse(row.spec),
      limits: JSON.parse(row.limits),
      state: row.state,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      maxAttempts: row.max_attempts,
      attempts: this.#attemptsOf.all(row.id).map(toAttempt),
      value: row.value !== null ? JSON.parse(row.value) : row.value_file !== null ? this.#readValueFile(row.id, row.value_file) : null,
      error: row.error === null ? null : JSON.parse(row.error),
    };
    // Size as stored (a file-backed value counts as big as it is).
    this.#written.set(rec, { value: rec.value, bytes: row.value?.length ?? (row.value_file !== null ? this.#inlineMax : 0) });
    return rec;
  }

  #readValueFile(id: string, file: string): TaskValue {
    if (!this.#resultsDir) throw new ApiaryError('INTERNAL', `task ${id} has its result in a file but the ledger has no results directory`);
    try {
      return JSON.parse(readFileSync(join(this.#resultsDir, file), 'utf8')) as TaskValue;
    } catch (e) {
      throw new ApiaryError('INTERNAL', `cannot read the result of task ${id}: ${(e as Error).message}`, { file }, { cause: e });
    }
  }
}

function toAttempt(a: AttemptRow): AttemptView {
  return {
    attempt: a.attempt,
    hive: a.hive,
    bee: a.bee,
    startedAt: a.started_at,
    durationMs: a.duration_ms,
    error: a.error === null ? null : JSON.parse(a.error),
    ...(a.token === null ? {} : { token: a.token }),
  };
}

/** Least-recently-used records, bounded by count and by (approximate) result bytes. */
class Lru {
  readonly #map = new Map<string, { rec: TaskRecord; bytes: number }>();
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(id: string): TaskRecord | undefined {
    const e = this.#map.get(id);
    if (!e) return undefined;
    // Re-insert: Map order is the recency order.
    this.#map.delete(id);
    this.#map.set(id, e);
    return e.rec;
  }

  /** Look without refreshing. */
  peek(id: string): TaskRecord | undefined {
    return this.#map.get(id)?.rec;
  }

  set(id: string, rec: TaskRecord, bytes: number): void {
    this.delete(id);
    this.#map.set(id, { rec, bytes });
    this.#bytes += bytes;
    for (const [oldest, e] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#map.delete(oldest);
      this.#bytes -= e.bytes;
    }
  }

  delete(id: string): void {
    const e = this.#map.get(id);
    if (!e) return;
    this.#map.delete(id);
    this.#bytes -= e.bytes;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}
