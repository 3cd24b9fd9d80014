import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ApiaryError, type SqlResult } from '@apiary/protocol';
import { jsonSafe } from './json-safe.js';

export interface DuckOptions {
  /** DuckDB memory_limit in bytes: below the chamber budget so DuckDB spills before the chamber kills. */
  memoryLimitBytes: number;
  tempDir: string;
}

/**
 * One DuckDB instance per bee, opened once and kept warm. threads = 1 because a bee is one core;
 * parallelism comes from running many bees.
 */
export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(o: DuckOptions): Promise<Duck> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: `${Math.floor(o.memoryLimitBytes / (1024 * 1024))}MiB`,
      temp_directory: o.tempDir,
      // Keep DuckDB from building its own caches outside the chamber.
      preserve_insertion_order: 'true',
    });
    const conn = await instance.connect();
    return new Duck(instance, conn);
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
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const columns = names.map((name, i) => ({ name, type: String(types[i] ?? 'UNKNOWN') }));
      const rows = reader.getRowObjectsJS().map((r) => jsonSafe(r) as Record<string, unknown>);
      return { kind: 'sql', columns, rows };
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
