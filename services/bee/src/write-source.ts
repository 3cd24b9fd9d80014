import { ApiaryError, type Column, type WriteTaskSpec } from '@apiary/protocol';
import type { DuckDBConnection } from '@duckdb/node-api';
import { classifyDuckError, type Duck } from './duck.js';
import { ident, lit, litList } from './sql-text.js';

const READERS = { csv: 'read_csv_auto', parquet: 'read_parquet', json: 'read_json_auto' } as const;

/**
 * The relation a write task reads. With the write's one schema (`columns`, from the queen's probe of
 * every input file) each file is read with those names and types, whatever its own sample suggests;
 * so a column that is all integers here and has decimals in another task's file is DOUBLE in both.
 * With `part`, only that run of the one Parquet input's row groups (see partRows).
 */
export async function sourceOf(duck: Duck, spec: WriteTaskSpec, signal: AbortSignal): Promise<string> {
  const files = litList(spec.inputs);
  const cols = spec.columns?.length ? spec.columns : undefined;
  if (spec.part) {
    if (spec.format !== 'parquet' || spec.inputs.length !== 1) {
      throw new ApiaryError('BAD_REQUEST', 'a write task with part takes exactly one Parquet input');
    }
    const [lo, hi] = await partRows(duck, spec.inputs[0]!, spec.part, signal);
    // The filter on file_row_number reaches the scan, so row groups outside the run are skipped.
    const select = cols ? casts(cols) : '* EXCLUDE (file_row_number)';
    return `(SELECT ${select} FROM read_parquet(${files}, file_row_number = true) WHERE file_row_number >= ${lo} AND file_row_number < ${hi})`;
  }
  if (!cols) return `${READERS[spec.format]}(${files})`;
  const struct = `{${cols.map((c) => `${lit(c.name)}: ${lit(c.type)}`).join(', ')}}`;
  if (spec.format === 'csv') return `read_csv_auto(${files}, types = ${struct})`;
  if (spec.format === 'json') return `read_json_auto(${files}, columns = ${struct})`;
  // Parquet carries its own types: read by name and cast (a plain multi-file read would cast every
  // file to the first file's types, silently truncating 2.5 to 2).
  return `(SELECT ${casts(cols)} FROM read_parquet(${files}, union_by_name = true))`;
}

/** Integer types DuckDB's Parquet writer stores as DOUBLE (inexact above 2^53). */
const HUGE = /^U?HUGEINT$/;
/** The widest exact integer Parquet holds that DuckDB reads back: 38 digits. */
const STORED_HUGE = 'DECIMAL(38,0)';

/**
 * What a cell stores each column as: HUGEINT and UHUGEINT as DECIMAL(38,0), since DuckDB would
 * write them as DOUBLE. `src` reads the relation with those casts; a value past 38 digits fails
 * the write with FRAME_VALUE_OUT_OF_RANGE (see outOfRange) rather than being stored rounded.
 */
export function storedColumns(src: string, schema: readonly Column[]): { src: string; schema: Column[] } {
  const huge = schema.filter((c) => HUGE.test(c.type));
  if (huge.length === 0) return { src, schema: [...schema] };
  const replace = huge.map((c) => `CAST(${ident(c.name)} AS ${STORED_HUGE}) AS ${ident(c.name)}`).join(', ');
  return {
    src: `(SELECT * REPLACE (${replace}) FROM ${src})`,
    schema: schema.map((c) => (HUGE.test(c.type) ? { name: c.name, type: STORED_HUGE } : c)),
  };
}

/**
 * `COPY (<query>) TO <into>` of a query's result (an --into query) with storedColumns' casts, so
 * a sum() over BIGINT lands in Parquet exactly. DESCRIBE only binds the query: it reads no rows.
 */
export async function copyExact(conn: DuckDBConnection, query: string, into: string): Promise<void> {
  const described = (await conn.runAndReadAll(`DESCRIBE ${query}`)).getRowObjectsJson();
  const { src } = storedColumns(
    `(${query})`,
    described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) })),
  );
  try {
    await conn.run(`COPY ${src} TO ${lit(into)} (FORMAT parquet)`);
  } catch (e) {
    throw outOfRange(classifyDuckError(e));
  }
}

/** DuckDB's failed cast of a (U)HUGEINT past 38 digits to DECIMAL(38,0), as FRAME_VALUE_OUT_OF_RANGE; else e. */
export function outOfRange(e: unknown): unknown {
  const m = e instanceof ApiaryError && e.code === 'SQL_ERROR' ? /Could not cast value (-?\d+) to DECIMAL\(38,0\)/.exec(e.message) : null;
  if (!m) return e;
  return new ApiaryError('FRAME_VALUE_OUT_OF_RANGE', `the value ${m[1]} has more than 38 digits: frames store HUGEINT as DECIMAL(38,0), which cannot hold it`);
}

function casts(cols: readonly { name: string; type: string }[]): string {
  return cols.map((c) => `CAST(${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(', ');
}

/**
 * Rows [lo, hi) of run `index` of `of`: whole row groups, a group in the run its first row falls in
 * when the file's rows are cut in `of` equal ranges. Every task of the write reads the same footer,
 * so the runs tile the file: each row is written by exactly one task. A run may be empty.
 */
export async function partRows(duck: Duck, file: string, part: { index: number; of: number }, signal: AbortSignal): Promise<[number, number]> {
  const r = await duck.query(`SELECT row_group_id AS g, any_value(row_group_num_rows) AS n FROM parquet_metadata(${lit(file)}) GROUP BY g ORDER BY g`, signal);
  const groups = r.rows.map((x) => Number(x.n));
  const total = groups.reduce((a, b) => a + b, 0);
  let lo = -1;
  let hi = 0;
  let first = 0;
  for (const n of groups) {
    const run = Math.floor((first * part.of) / total);
    if (run === part.index) {
      if (lo < 0) lo = first;
      hi = first + n;
    }
    first += n;
  }
  return lo < 0 ? [0, 0] : [lo, hi];
}
