import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ApiaryError, type SqlResult } from '@apiary/protocol';
import { rowsOf } from './json-safe.js';
import { streamRowsTo } from './stream-rows.js';

export interface DuckOptions {
  /** DuckDB memory_limit in bytes: below the chamber budget so DuckDB spills before the chamber kills. */
  memoryLimitBytes: number;
  tempDir: string;
}

/**
 * DuckDB's native library, loaded on first use: a bee that only ever runs js tasks never maps it
 * (~30 MiB of PSS per bee, issue 14). A dynamic import stays dynamic in the esbuild bundle.
 */
export function loadDuckDb(): Promise<typeof import('@duckdb/node-api')> {
  return import('@duckdb/node-api');
}

/**
 * One DuckDB instance per bee, opened at its first SQL task and kept warm. threads = 1 because a bee is one core;
 * parallelism comes from running many bees.
 */
export class Duck {
  private constructor(
    private instance: DuckDBInstance,
    private conn: DuckDBConnection,
    private readonly opts: DuckOptions,
  ) {}

  static async open(o: DuckOptions): Promise<Duck> {
    const [instance, conn] = await Duck.#create(o);
    return new Duck(instance, conn, o);
  }

  static async #create(o: DuckOptions): Promise<[DuckDBInstance, DuckDBConnection]> {
    const { DuckDBInstance } = await loadDuckDb();
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: `${Math.floor(o.memoryLimitBytes / (1024 * 1024))}MiB`,
      temp_directory: o.tempDir,
    });
    return [instance, await instance.connect()];
  }

  /**
   * A chamber is sealed between tasks too: if a task left tables, views, macros or sequences behind,
   * or changed the settings that enforce the budget, the next task gets a fresh database.
   */
  async resetIfDirty(): Promise<boolean> {
    const r = await this.conn.runAndReadAll(`SELECT
      (SELECT count(*) FROM duckdb_tables()) + (SELECT count(*) FROM duckdb_views() WHERE NOT internal)
        + (SELECT count(*) FROM duckdb_sequences()) + (SELECT count(*) FROM duckdb_functions() WHERE NOT internal)
        + (SELECT count(*) FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory') AS objects,
      current_setting('threads') AS threads, current_setting('memory_limit') AS mem, current_setting('temp_directory') AS tmp,
      current_setting('enable_external_access') AS ext`);
    const row = r.getRowObjectsJS()[0] as { objects: bigint; threads: bigint | number; tmp: string; ext: boolean } | undefined;
    const dirty =
      !row ||
      Number(row.objects) > 0 ||
      Number(row.threads) !== 1 ||
      row.tmp !== this.opts.tempDir ||
      row.ext !== true ||
      !this.#memoryLimitIntact(r.getRowObjectsJS()[0]?.mem);
    if (!dirty) return false;
    this.close();
    [this.instance, this.conn] = await Duck.#create(this.opts);
    return true;
  }

  /** DuckDB reports the limit rounded in its own units; only a clearly different value counts. */
  #memoryLimitIntact(reported: unknown): boolean {
    const m = /^([\d.]+)\s*(KiB|MiB|GiB|TiB|KB|MB|GB|TB|bytes?)$/i.exec(String(reported ?? ''));
    if (!m) return false;
    const unit: Record<string, number> = { kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, byte: 1, bytes: 1 };
    const bytes = Number(m[1]) * (unit[m[2]!.toLowerCase()] ?? 1);
    return Math.abs(bytes - this.opts.memoryLimitBytes) <= this.opts.memoryLimitBytes * 0.05;
  }

  async version(): Promise<string> {
    const r = await this.conn.runAndReadAll('SELECT version() AS v');
    return String(r.getRowObjectsJS()[0]?.v ?? 'unknown');
  }

  async query(sql: string, signal: AbortSignal): Promise<SqlResult> {
    const onAbort = () => this.conn.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const reader = await this.conn.runAndReadAll(sql);
      return { kind: 'sql', ...rowsOf(reader) };
    } catch (e) {
      throw classifyDuckError(e);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** A streamed result (stream-rows.ts): the rows go to `file` as NDJSON, not into the task's value. */
  stream(sql: string, file: string, signal: AbortSignal): Promise<SqlResult> {
    return streamRowsTo(this.conn, sql, file, signal);
  }

  /** One value of a parameterised query, as text (parse trees and rendered SQL). */
  async scalar(sql: string, params: string[], signal: AbortSignal): Promise<string> {
    const onAbort = () => this.conn.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await this.conn.runAndReadAll(sql, params);
      return String(r.getRows()[0]?.[0] ?? '');
    } catch (e) {
      throw classifyDuckError(e);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } catch {
      // closing at exit; nothing to save
    }
  }
}

/** DuckDB's own out-of-memory is the chamber's budget speaking (memory_limit is part of it). */
export function classifyDuckError(e: unknown): ApiaryError {
  const message = e instanceof Error ? e.message : String(e);
  if (/Out of Memory Error|failed to allocate|could not allocate/i.test(message)) {
    return new ApiaryError('BEE_MEMORY_EXCEEDED', `DuckDB hit the bee's memory limit: ${message}`, { source: 'duckdb' });
  }
  if (/INTERRUPT/i.test(message)) return new ApiaryError('TASK_CANCELLED', 'query interrupted');
  return new ApiaryError('SQL_ERROR', message);
}
