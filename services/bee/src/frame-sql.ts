import type { FrameSqlTaskSpec, SqlResult } from '@apiary/protocol';
import { classifyDuckError, loadDuckDb } from './duck.js';
import { rowsOf } from './json-safe.js';
import { frameViewSql, withoutTrailingSemicolon } from '@apiary/planner';
import { lit } from './sql-text.js';

export interface SandboxOptions {
  memoryLimitBytes: number;
  tempDir: string;
}

/**
 * Frame SQL runs in a database of its own (~12 ms to open) that can read only the data root and
 * its scratch dir: the views over cells are made first, then external access is locked, so a query
 * naming /etc/passwd gets a permission error. Closed after the query, so nothing carries over.
 */
export async function runFrameSql(spec: FrameSqlTaskSpec, o: SandboxOptions, signal: AbortSignal): Promise<SqlResult> {
  const { DuckDBInstance } = await loadDuckDb();
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1',
    memory_limit: `${Math.floor(o.memoryLimitBytes / (1024 * 1024))}MiB`,
    temp_directory: o.tempDir,
  });
  const conn = await instance.connect();
  const onAbort = () => conn.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const dirs = [...spec.allowDirs, o.tempDir].map((d) => lit(d.endsWith('/') ? d : `${d}/`));
    await conn.run(`SET allowed_directories = [${dirs.join(', ')}]`);
    // A frame with no cells (an empty frame) gets a typed empty view from its columns.
    for (const [name, files] of Object.entries(spec.views)) await conn.run(frameViewSql(name, files, spec.columns?.[name]));
    await conn.run('SET enable_external_access = false');
    if (spec.into) {
      await conn.run(`COPY (${withoutTrailingSemicolon(spec.sql)}) TO ${lit(spec.into)} (FORMAT parquet)`);
      return { kind: 'sql', columns: [], rows: [] };
    }
    return { kind: 'sql', ...rowsOf(await conn.runAndReadAll(spec.sql)) };
  } catch (e) {
    throw classifyDuckError(e);
  } finally {
    signal.removeEventListener('abort', onAbort);
    conn.closeSync();
    instance.closeSync();
  }
}
