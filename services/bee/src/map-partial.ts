import type { DuckDBConnection } from '@duckdb/node-api';
import { inlineType, withoutTrailingSemicolon } from '@apiary/planner';
import { ApiaryError, type SqlResult } from '@apiary/protocol';
import { ident, lit } from './sql-text.js';

/** Where a map step's result waits while the bee decides how it travels. A temp table: gone with the database. */
const TABLE = 'temp.main.__apiary_map';

export interface InlineMax {
  rows: number;
  bytes: number;
}

/**
 * A map step (issue 11): a small partial (at most `max` rows and bytes of text, every column of a
 * type whose text casts back exactly) comes back in the task's value, each value as DuckDB's
 * VARCHAR text, and no file is written; a bigger one goes to `into` as Parquet as before. The value
 * says which: columns for inline rows, none for a file. The result is held in a temp table so the
 * map runs once either way (a GROUP BY is materialised before it is output anyway).
 */
export async function runMapStep(conn: DuckDBConnection, sql: string, into: string, max: InlineMax): Promise<SqlResult> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE __apiary_map AS ${withoutTrailingSemicolon(sql)}`);
  let result: SqlResult | null = null;
  let failure: unknown = null;
  try {
    result = (await inlineRows(conn, max)) ?? (await toFile(conn, into));
  } catch (e) {
    failure = e;
  }
  try {
    await conn.run(`DROP TABLE IF EXISTS ${TABLE}`);
  } catch (e) {
    // A partial left behind would be visible to the next task: not SQL_ERROR, so the database is closed.
    throw new ApiaryError('INTERNAL', `could not drop a map step's table: ${(e as Error).message}`);
  }
  if (failure !== null || result === null) throw failure;
  return result;
}

async function toFile(conn: DuckDBConnection, into: string): Promise<SqlResult> {
  await conn.run(`COPY ${TABLE} TO ${lit(into)} (FORMAT parquet)`);
  return { kind: 'sql', columns: [], rows: [] };
}

async function inlineRows(conn: DuckDBConnection, max: InlineMax): Promise<SqlResult | null> {
  const head = await conn.runAndReadAll(`SELECT * FROM ${TABLE} LIMIT 0`);
  const names = head.columnNames();
  const types = head.columnTypes().map(String);
  if (!types.every(inlineType)) return null;
  const text = names.map((n) => `CAST(${ident(n)} AS VARCHAR) AS ${ident(n)}`).join(', ');
  const r = await conn.runAndReadAll(`SELECT ${text} FROM ${TABLE} LIMIT ${max.rows + 1}`);
  const rows = r.getRows() as (string | null)[][];
  if (rows.length > max.rows) return null;
  let bytes = 0;
  for (const row of rows) {
    for (const v of row) {
      if (v === null) continue;
      // A NUL cannot sit inside a SQL string literal: such a value keeps its partial in a file.
      if (v.includes('\u0000')) return null;
      bytes += Buffer.byteLength(v);
    }
  }
  if (bytes > max.bytes) return null;
  return {
    kind: 'sql',
    columns: names.map((name, i) => ({ name, type: types[i]! })),
    rows: rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null]))),
  };
}
