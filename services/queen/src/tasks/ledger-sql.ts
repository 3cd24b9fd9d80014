import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { AttemptView } from '@apiary/protocol';
import type { TaskRecord } from './ledger.js';
import type { ResultSpill, ValueCols } from './result-spill.js';
import { rowCurrent, stateOf, type StoredRow, storedRow } from './stored-row.js';
import { storedSpec } from './stored-spec.js';

const COLS = 'id, spec, limits, state, created_at, finished_at, max_attempts, value, value_file, error';

export interface TaskRow {
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

/** A record read back, with its row as stored. */
export interface Hydrated {
  rec: TaskRecord;
  stored: StoredRow;
}

/**
 * The task ledger's SQL: every statement prepared once, and the conversions between a TaskRecord and
 * its rows (tasks + attempts). Writes run inside the transactions the ledger opens (insertMany, updateMany).
 */
export class LedgerSql {
  readonly #insert: Statement<unknown[]>;
  readonly #update: Statement<unknown[]>;
  readonly #updateWithValue: Statement<unknown[]>;
  readonly #upsertAttempt: Statement<unknown[]>;
  readonly #byId: Statement<[string], TaskRow>;
  readonly #attemptsOf: Statement<[string], AttemptRow>;
  readonly #liveRows: Statement<[], TaskRow>;
  readonly #newest: Statement<[number], TaskRow>;
  readonly #newestSucceeded: Statement<[number], TaskRow>;
  readonly #newestUnsucceeded: Statement<[string, number], TaskRow>;
  readonly #lastCreatedAt: Statement<[], number>;
  /** Insert records in one immediate transaction; their rows as stored, in order. */
  readonly insertMany: (recs: TaskRecord[]) => StoredRow[];
  /**
   * Update records in one immediate transaction, each against its row as last stored (when known):
   * only the attempts when the row already says it all (rowCurrent), the row without the value when
   * only the value is unchanged. Per record: its row as stored now, undefined when there is no such
   * task. A known StoredRow is updated in place: after a failed transaction, forget it.
   */
  readonly updateMany: (recs: TaskRecord[], stored: (r: TaskRecord) => StoredRow | undefined) => (StoredRow | undefined)[];

  constructor(
    db: Database.Database,
    private readonly spill: ResultSpill,
  ) {
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
    // Rows of running tasks may still say 'queued' (see stateOf): the live ones are read here, at
    // open, and listed from memory after.
    this.#liveRows = db.prepare(`SELECT ${COLS} FROM tasks WHERE state IN ('queued', 'running') ORDER BY created_at, seq`);
    // created_at never decreases with seq (see SqliteLedger.createMany): newest first is seq descending.
    this.#newest = db.prepare(`SELECT ${COLS} FROM tasks ORDER BY seq DESC LIMIT ?`);
    // One statement per partial index (migration 7): SQLite uses a partial index only when the
    // query repeats its WHERE term. Succeeded tasks have none: most finished tasks are, so the newest
    // ones come first walking the table backwards (migration 9).
    this.#newestSucceeded = db.prepare(`SELECT ${COLS} FROM tasks WHERE state = 'succeeded' ORDER BY seq DESC LIMIT ?`);
    this.#lastCreatedAt = db.prepare<[], number>('SELECT created_at FROM tasks ORDER BY seq DESC LIMIT 1').pluck();
    this.#newestUnsucceeded = db.prepare(
      `SELECT ${COLS} FROM tasks WHERE state = ? AND state NOT IN ('queued', 'running') AND state <> 'succeeded' ORDER BY created_at DESC, seq DESC LIMIT ?`,
    );
    this.insertMany = db.transaction((recs: TaskRecord[]) => recs.map((r) => this.#insertRow(r))).immediate;
    this.updateMany = db.transaction((recs: TaskRecord[], stored: (r: TaskRecord) => StoredRow | undefined) =>
      recs.map((r) => this.#updateRow(r, stored(r))),
    ).immediate;
  }

  byId(id: string): TaskRow | undefined {
    return this.#byId.get(id);
  }

  /** created_at of the task created last (0 with none). */
  lastCreatedAt(): number {
    return this.#lastCreatedAt.get() ?? 0;
  }

  /** Queued and running rows, oldest first. all(), not iterate(): hydrating runs other statements. */
  liveRows(): TaskRow[] {
    return this.#liveRows.all();
  }

  /** Newest rows, of all states or of one finished state (live tasks are listed from memory). */
  newest(limit: number, state?: TaskRecord['state']): TaskRow[] {
    if (state === undefined) return this.#newest.all(limit);
    return state === 'succeeded' ? this.#newestSucceeded.all(limit) : this.#newestUnsucceeded.all(state, limit);
  }

  hydrate(row: TaskRow): Hydrated {
    const attempts = this.#attemptsOf.all(row.id).map(toAttempt);
    const rec: TaskRecord = {
      id: row.id,
      spec: JSON.parse(row.spec),
      limits: JSON.parse(row.limits),
      state: stateOf(row.state, attempts),
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      maxAttempts: row.max_attempts,
      attempts,
      value: row.value !== null ? JSON.parse(row.value) : row.value_file !== null ? this.spill.read(row.id, row.value_file) : null,
      error: row.error === null ? null : JSON.parse(row.error),
    };
    // Size as stored (a file-backed value counts as big as the inline limit).
    const bytes = row.value?.length ?? (row.value_file !== null ? this.spill.inlineMax : 0);
    return { rec, stored: { ...storedRow(rec, bytes), state: row.state } };
  }

  #insertRow(r: TaskRecord): StoredRow {
    const v = this.spill.write(r);
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
    return storedRow(r, v.bytes);
  }

  #updateRow(r: TaskRecord, s: StoredRow | undefined): StoredRow | undefined {
    if (s && rowCurrent(s, r)) {
      this.#writeAttempts(r);
      return s;
    }
    const error = r.error === null ? null : JSON.stringify(r.error);
    let bytes = s?.bytes ?? 0;
    let changes: number;
    if (s && s.value === r.value) {
      changes = this.#update.run(r.state, r.finishedAt, r.maxAttempts, error, r.id).changes;
    } else {
      const v: ValueCols = this.spill.write(r);
      bytes = v.bytes;
      changes = this.#updateWithValue.run(r.state, r.finishedAt, r.maxAttempts, error, v.json, v.file, r.id).changes;
    }
    if (changes === 0) return undefined;
    this.#writeAttempts(r);
    if (!s) return storedRow(r, bytes);
    s.state = r.state;
    s.finishedAt = r.finishedAt;
    s.maxAttempts = r.maxAttempts;
    s.error = r.error;
    s.value = r.value;
    s.bytes = bytes;
    return s;
  }

  #writeAttempts(r: TaskRecord): void {
    for (const a of r.attempts) {
      this.#upsertAttempt.run(r.id, a.attempt, a.hive, a.bee, a.startedAt, a.durationMs, a.error === null ? null : JSON.stringify(a.error), a.token ?? null);
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
