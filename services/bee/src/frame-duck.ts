import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { frameViewSql } from '@apiary/planner';
import { loadDuckDb } from './duck.js';
import { lit } from './sql-text.js';

export interface FrameDuckOptions {
  memoryLimitBytes: number;
  /** The chamber's scratch dir: DuckDB's temp_directory, and readable/writable like allowDirs. */
  tempDir: string;
  /** The only dirs the SQL may touch (the data root; on a fetching hive its cache and outputs). */
  allowDirs: readonly string[];
}

type Columns = readonly { name: string; type: string }[] | undefined;

/**
 * A bee's sealed DuckDB for frame SQL, opened once and kept warm (issue 11): allowed_directories
 * are set, then external access is switched off, which DuckDB never lets a running database switch
 * back on nor widen. Frame SQL is one SELECT (checked by the planner) or SQL the planner generated,
 * so it cannot change settings or leave objects; the only state is our own temp views, kept while
 * the next task names the same frame over the same files (Parquet metadata cached with them), and
 * dropped otherwise, so a task sees exactly the views its spec names. (A merge's inline partials are
 * a CTE of its statement, not a view: frame-sql.ts.)
 */
export class FrameDuck {
  readonly #views = new Map<string, string>();

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    /** What this database was sealed with: another set of dirs needs another database. */
    readonly key: string,
  ) {}

  static keyOf(o: FrameDuckOptions): string {
    return JSON.stringify([o.memoryLimitBytes, o.tempDir, [...o.allowDirs].sort()]);
  }

  static async open(o: FrameDuckOptions): Promise<FrameDuck> {
    const { DuckDBInstance } = await loadDuckDb();
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: `${Math.floor(o.memoryLimitBytes / (1024 * 1024))}MiB`,
      temp_directory: o.tempDir,
    });
    try {
      const conn = await instance.connect();
      const dirs = [...o.allowDirs, o.tempDir].map((d) => lit(d.endsWith('/') ? d : `${d}/`));
      await conn.run(`SET allowed_directories = [${dirs.join(', ')}]`);
      // Cells and partials are immutable files with unique names: their footers can be cached.
      await conn.run('SET parquet_metadata_cache = true');
      await conn.run('SET enable_external_access = false');
      return new FrameDuck(instance, conn, FrameDuck.keyOf(o));
    } catch (e) {
      instance.closeSync();
      throw e;
    }
  }

  /** Make exactly these views exist: unchanged ones are kept, the rest (re)made or dropped. */
  async views(views: Record<string, readonly string[]>, columns: Record<string, Columns> | undefined): Promise<void> {
    for (const name of [...this.#views.keys()]) {
      if (name in views) continue;
      this.#views.delete(name);
      await this.conn.run(`DROP VIEW IF EXISTS temp.main.${quote(name)}`);
    }
    for (const [name, files] of Object.entries(views)) {
      const sql = frameViewSql(name, files, columns?.[name]);
      if (this.#views.get(name) === sql) continue;
      this.#views.delete(name); // unknown state if the CREATE fails
      await this.conn.run(sql);
      this.#views.set(name, sql);
    }
  }

  close(): void {
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } catch {
      // closing a broken database; nothing to save
    }
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
