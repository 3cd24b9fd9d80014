import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { inlineType, withoutTrailingSemicolon } from '@apiary/planner';
import { ApiaryError, type SqlResult } from '@apiary/protocol';
import { lit } from './sql-text.js';

/** Where a keyed map step's result waits while the bee decides how it travels. A temp table: gone with the database. */
const TABLE = 'temp.main.__apiary_map';

export interface InlineMax {
  rows: number;
  bytes: number;
  /** Small for sure (no GROUP BY, or small when this plan last ran): one statement, no temp table. */
  direct?: boolean;
}

/**
 * A map step (issue 11): a small partial (at most `max` rows and bytes of text, every column of a
 * type whose text casts back exactly) comes back in the task's value, each value as DuckDB's
 * VARCHAR text, and no file is written; a bigger one goes to `into` as Parquet as before. The value
 * says which: columns for inline rows, none for a file. A map known to be small (max.direct) is one
 * statement, and runs again into the file should it be big after all; any other is held in a temp
 * table so it runs once either way (costlier for a small partial: a table made, read and dropped).
 */
export async function runMapStep(conn: DuckDBConnection, sql: string, into: string, max: InlineMax): Promise<SqlResult> {
  const map = withoutTrailingSemicolon(sql);
  if (max.direct) {
    const small = await textRows(conn, `(${map})`, max, true);
    if (small) return small;
    // Big after all, a value too long, or a type that may not travel as text: run it again into the
    // file, in a directory the queen may not have made (it does not when this plan's maps were all inline).
    await mkdir(path.dirname(into), { recursive: true });
    await conn.run(`COPY (${map}) TO ${lit(into)} (FORMAT parquet)`);
    return { kind: 'sql', columns: [], rows: [] };
  }
  await conn.run(`CREATE OR REPLACE TEMP TABLE __apiary_map AS ${map}`);
  let result: SqlResult | null = null;
  let failure: unknown = null;
  try {
    result = (await textRows(conn, TABLE, max, false)) ?? (await toFile(conn, into));
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

/**
 * Up to max.rows + 1 rows of `from` as text, each followed by its columns' types (typeof), in one
 * statement (a CTE or a second query cost more than the rows). Null when the partial cannot travel inline.
 */
async function textRows(conn: DuckDBConnection, from: string, max: InlineMax, direct: boolean): Promise<SqlResult | null> {
  const r = await conn.runAndReadAll(`SELECT CAST(COLUMNS(*) AS VARCHAR), typeof(COLUMNS(*)) FROM ${from} LIMIT ${max.rows + 1}`);
  const width = r.columnCount / 2;
  const names = r.columnNames().slice(0, width);
  const all = r.getRows() as (string | null)[][];
  let types = all.length > 0 ? (all[0]!.slice(width) as string[]) : null;
  // No rows, so no typeof (a keyed map over cells where nothing matched): the table's own types
  // (a direct read has none to ask: its empty partial goes to the file, run again).
  if (!types && !direct) types = (await conn.runAndReadAll(`SELECT * FROM ${from} LIMIT 0`)).columnTypes().map(String);
  if (!types?.every(inlineType) || all.length > max.rows) return null;
  let bytes = 0;
  for (const row of all) {
    for (let i = 0; i < width; i++) {
      const v = row[i];
      if (v === null || v === undefined) continue;
      // A NUL cannot sit inside a SQL string literal: such a value keeps its partial in a file.
      if (v.includes('\u0000')) return null;
      bytes += Buffer.byteLength(v);
    }
  }
  if (bytes > max.bytes) return null;
  return {
    kind: 'sql',
    columns: names.map((name, i) => ({ name, type: types[i]! })),
    rows: all.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null]))),
  };
}
