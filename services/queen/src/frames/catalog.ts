import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { ApiaryError, type CellView, type Column, type FrameDetail, type FrameSummary, type VersionView } from '@apiary/protocol';
import { migrate } from '../tasks/migrations.js';
import { toCellView, type CellRow, type Commit, type Retired, type VersionRow } from './catalog-rows.js';
import { mergeStats } from './stats.js';
import { VersionPins } from './version-pins.js';

export type { Commit, NewCell, Retired } from './catalog-rows.js';

/** A frame's current version as queries read it: shared and frozen (kept until the frame changes). */
export interface Snapshot {
  readonly version: number;
  readonly schema: readonly Column[];
  readonly cells: readonly CellView[];
}

/**
 * The frame catalog in SQLite: frames, their versions, cells with per-column stats, and which
 * cells make up each version. The daemon shares the ledger's database (queen.db); an ephemeral
 * queen gets an in-memory one with the same migrations.
 */
export class FrameCatalog {
  /** Versions running queries read: retire() leaves them (and their cells) alone. */
  readonly pins = new VersionPins();

  #db: Database.Database | null;
  /** Prepared statements by SQL text: preparing one costs more than running these small lookups. */
  readonly #statements = new Map<string, Database.Statement>();
  /**
   * What every query asks (issue 10): frame names and each frame's current version, read from
   * SQLite once and kept until this catalog (its only writer) commits, retires or drops.
   */
  #names: string[] | null = null;
  readonly #current = new Map<string, Snapshot>();

  private constructor(
    db: Database.Database | null,
    private readonly owned: boolean,
  ) {
    this.#db = db;
  }

  static open(db: Database.Database): FrameCatalog {
    migrate(db);
    return new FrameCatalog(db, false);
  }

  /**
   * An ephemeral queen's catalog, in memory. Opened at first use: most one-shot runs write no frame,
   * and loading SQLite (addon + migrations) is ~50-100 ms of their start-up. Until then it is empty.
   */
  static memory(): FrameCatalog {
    return new FrameCatalog(null, true);
  }

  private get db(): Database.Database {
    if (this.#db) return this.#db;
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const db = new Sqlite(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db);
    this.#db = db;
    return db;
  }

  /** A memory catalog not opened yet holds no frame: answer without opening it (every query asks). */
  get #empty(): boolean {
    return this.#db === null;
  }

  #prepare<P extends unknown[], R>(sql: string): Database.Statement<P, R> {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s as unknown as Database.Statement<P, R>;
  }

  /** Forget what is kept about `frame` (undefined: every frame) after a change to it. */
  #changed(frame?: string): void {
    this.#names = null;
    if (frame === undefined) this.#current.clear();
    else this.#current.delete(frame);
  }

  #latest(frame: string): VersionRow | undefined {
    return this.#prepare<[string], VersionRow>(
      `SELECT v.version, v.mode, v.created_at, v.row_count, v.byte_count, v.schema,
           (SELECT count(*) FROM version_cells c WHERE c.frame = v.frame AND c.version = v.version) AS cells
         FROM frame_versions v WHERE v.frame = ? ORDER BY v.version DESC LIMIT 1`,
    ).get(frame);
  }

  /** Throws FRAME_SCHEMA_MISMATCH when appending `schema` to `frame` would mix column layouts. */
  checkAppend(frame: string, schema: readonly Column[]): void {
    const cur = this.#latest(frame);
    if (!cur || cur.cells === 0) return; // nothing to be consistent with
    const want = JSON.parse(cur.schema) as Column[];
    if (JSON.stringify(want) !== JSON.stringify(schema)) {
      const show = (s: readonly Column[]) => s.map((c) => `${c.name} ${c.type}`).join(', ');
      throw new ApiaryError(
        'FRAME_SCHEMA_MISMATCH',
        `cannot append to ${frame}: it has (${show(want)}) but the data has (${show(schema)}); use --mode overwrite to replace it`,
      );
    }
  }

  /** Record one write as the frame's next version, atomically. Returns the version and its totals. */
  commit(c: Commit): { version: number; rows: number; bytes: number } {
    this.#changed(c.frame);
    const tx = this.db.transaction(() => {
      const now = Date.now();
      if (c.mode === 'append') this.checkAppend(c.frame, c.schema);
      this.#prepare('INSERT OR IGNORE INTO frames (name, created_at) VALUES (?, ?)').run(c.frame, now);
      const prev = this.#latest(c.frame);
      const version = (prev?.version ?? 0) + 1;
      const carried = c.mode === 'append' && prev ? this.#cellRows(c.frame, prev.version) : [];
      const rows = carried.reduce((n, x) => n + x.row_count, 0) + c.cells.reduce((n, x) => n + x.rows, 0);
      const bytes = carried.reduce((n, x) => n + x.byte_count, 0) + c.cells.reduce((n, x) => n + x.bytes, 0);
      this.#prepare(
        'INSERT INTO frame_versions (frame, version, mode, created_at, row_count, byte_count, schema, write_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(c.frame, version, c.mode, now, rows, bytes, JSON.stringify(c.schema), c.writeId);
      const cell = this.#prepare('INSERT INTO cells (id, frame, path, row_count, byte_count, sha256, stats, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const x of c.cells) cell.run(x.id, c.frame, x.path, x.rows, x.bytes, x.sha256, JSON.stringify(x.stats), now);
      const link = this.#prepare('INSERT INTO version_cells (frame, version, cell_id, seq) VALUES (?, ?, ?, ?)');
      for (const [i, id] of [...carried.map((x) => x.id), ...c.cells.map((x) => x.id)].entries()) link.run(c.frame, version, id, i);
      return { version, rows, bytes };
    });
    return tx.immediate();
  }

  /**
   * Retention: remove every version of `frame` but the `keep` highest, except pinned ones, then every
   * cell no remaining version lists, in one transaction. Returns what went (the caller deletes the files).
   */
  retire(frame: string, keep: number): Retired {
    this.#changed(frame);
    return this.db
      .transaction((): Retired => {
        if (!this.has(frame)) throw new ApiaryError('FRAME_NOT_FOUND', `no frame ${frame}`);
        const old = this.db
          .prepare<[string, number], { version: number }>('SELECT version FROM frame_versions WHERE frame = ? ORDER BY version DESC LIMIT -1 OFFSET ?')
          .all(frame, Math.max(1, keep))
          .map((r) => r.version);
        const pinned = this.pins.pinned(frame);
        const versions = old.filter((v) => !pinned.has(v)).sort((a, b) => a - b);
        const dropLinks = this.db.prepare('DELETE FROM version_cells WHERE frame = ? AND version = ?');
        const dropVersion = this.db.prepare('DELETE FROM frame_versions WHERE frame = ? AND version = ?');
        for (const v of versions) {
          dropLinks.run(frame, v);
          dropVersion.run(frame, v);
        }
        const orphans = this.db
          .prepare<[string], { id: string; path: string; byte_count: number }>(
            'SELECT id, path, byte_count FROM cells c WHERE c.frame = ? AND NOT EXISTS (SELECT 1 FROM version_cells v WHERE v.cell_id = c.id)',
          )
          .all(frame);
        const dropCell = this.db.prepare('DELETE FROM cells WHERE id = ?');
        for (const c of orphans) dropCell.run(c.id);
        const deferred = old.filter((v) => pinned.has(v)).sort((a, b) => a - b);
        return { frame, versions, deferred, paths: orphans.map((c) => c.path), bytes: orphans.reduce((n, c) => n + c.byte_count, 0) };
      })
      .immediate();
  }

  /** How many versions of `frame` are newer than `version`. */
  newerVersions(frame: string, version: number): number {
    // A query's last unpin asks this: reading the current version, there is none newer.
    if (this.#current.get(frame)?.version === version) return 0;
    return this.#prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM frame_versions WHERE frame = ? AND version > ?').get(frame, version)!.n;
  }

  /**
   * The current version of a frame, its schema and cells: what a query plans over (FRAME_NOT_FOUND
   * if none). The same frozen object until the frame changes: callers must not (and cannot) edit it.
   */
  snapshot(name: string): Snapshot {
    const kept = this.#current.get(name);
    if (kept) return kept;
    const cur = this.#latest(name);
    if (!cur) throw new ApiaryError('FRAME_NOT_FOUND', `no frame ${name}`);
    const cells = this.#cellRows(name, cur.version).map((r) => Object.freeze(toCellView(r)));
    const snap: Snapshot = Object.freeze({ version: cur.version, schema: Object.freeze(JSON.parse(cur.schema) as Column[]), cells: Object.freeze(cells) });
    this.#current.set(name, snap);
    return snap;
  }

  #cellRows(frame: string, version: number): CellRow[] {
    return this.#prepare<[string, number], CellRow>(
      `SELECT c.id, c.path, c.row_count, c.byte_count, c.sha256, c.stats FROM version_cells v JOIN cells c ON c.id = v.cell_id
         WHERE v.frame = ? AND v.version = ? ORDER BY v.seq`,
    ).all(frame, version);
  }

  list(): FrameSummary[] {
    if (this.#empty) return [];
    const names = this.db.prepare<[], { name: string; created_at: number }>('SELECT name, created_at FROM frames ORDER BY name').all();
    return names.map((f) => this.#summary(f.name, f.created_at));
  }

  #summary(name: string, createdAt: number): FrameSummary {
    const cur = this.#latest(name);
    const versions = this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM frame_versions WHERE frame = ?').get(name)!.n;
    // Every cell still recorded is a file on disk: the current version's and those of older versions kept.
    const disk = this.db.prepare<[string], { b: number }>('SELECT coalesce(sum(byte_count), 0) AS b FROM cells WHERE frame = ?').get(name)!.b;
    return {
      name,
      version: cur?.version ?? 0,
      versions,
      rows: cur?.row_count ?? 0,
      cells: cur?.cells ?? 0,
      bytes: cur?.byte_count ?? 0,
      diskBytes: disk,
      createdAt,
      updatedAt: cur?.created_at ?? createdAt,
    };
  }

  /** Frame names, sorted: cheaper than list() where only names are needed (every query asks). */
  names(): readonly string[] {
    if (this.#empty) return [];
    this.#names ??= this.#prepare<[], { name: string }>('SELECT name FROM frames ORDER BY name')
      .all()
      .map((r) => r.name);
    return this.#names;
  }

  has(name: string): boolean {
    return this.#prepare('SELECT 1 FROM frames WHERE name = ?').get(name) !== undefined;
  }

  /** The current version's cells, in order (paths relative to the data root): what a query reads. */
  cells(name: string, version?: number): CellView[] {
    const v = version ?? this.#latest(name)?.version;
    if (!this.has(name) || v === undefined) throw new ApiaryError('FRAME_NOT_FOUND', `no frame ${name}`);
    return this.#cellRows(name, v).map(toCellView);
  }

  describe(name: string, dataRoot: string): FrameDetail {
    const f = this.db.prepare<[string], { created_at: number }>('SELECT created_at FROM frames WHERE name = ?').get(name);
    if (!f) throw new ApiaryError('FRAME_NOT_FOUND', `no frame ${name}`);
    const cur = this.#latest(name);
    const schema = cur ? (JSON.parse(cur.schema) as Column[]) : [];
    const cellList = cur ? this.#cellRows(name, cur.version).map(toCellView) : [];
    const history = this.db
      .prepare<[string], VersionRow>(
        `SELECT v.version, v.mode, v.created_at, v.row_count, v.byte_count, v.schema,
           (SELECT count(*) FROM version_cells c WHERE c.frame = v.frame AND c.version = v.version) AS cells
         FROM frame_versions v WHERE v.frame = ? ORDER BY v.version`,
      )
      .all(name)
      .map((r): VersionView => ({ version: r.version, mode: r.mode, createdAt: r.created_at, rows: r.row_count, bytes: r.byte_count, cells: r.cells }));
    return { ...this.#summary(name, f.created_at), dataRoot, schema, columns: mergeStats(schema, cellList), cellList, history };
  }

  /** Forget a frame; returns the relative paths of every cell it had (the caller deletes the files). */
  drop(name: string): string[] {
    this.#changed(name);
    return this.db
      .transaction(() => {
        if (!this.has(name)) throw new ApiaryError('FRAME_NOT_FOUND', `no frame ${name}`);
        const paths = this.db
          .prepare<[string], { path: string }>('SELECT path FROM cells WHERE frame = ?')
          .all(name)
          .map((r) => r.path);
        this.db.prepare('DELETE FROM version_cells WHERE frame = ?').run(name);
        this.db.prepare('DELETE FROM frames WHERE name = ?').run(name);
        return paths;
      })
      .immediate();
  }

  /** Every recorded cell path, for the start-up sweep of files no version owns. */
  allCellPaths(): Set<string> {
    if (this.#empty) return new Set();
    return new Set(
      this.db
        .prepare<[], { path: string }>('SELECT path FROM cells')
        .all()
        .map((r) => r.path),
    );
  }

  close(): void {
    if (this.owned) this.#db?.close();
  }
}
