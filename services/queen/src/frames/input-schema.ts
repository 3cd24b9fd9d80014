import { ApiaryError, type Column, type InputFormat } from '@apiary/protocol';
import type { SubmitOptions } from '../tasks/new-task.js';
import type { Scheduler } from '../tasks/scheduler.js';
import { runAll } from './write-tasks.js';

const READERS: Record<InputFormat, string> = { csv: 'read_csv_auto', parquet: 'read_parquet', json: 'read_json_auto' };
/** Files described per SQL task: keeps each statement far below the 1 MB SQL limit. */
const FILES_PER_PROBE = 2000;

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Every input file's own columns, as DuckDB's reader sees that file alone (one DESCRIBE per file,
 * a sample for CSV and JSON, the footer for Parquet), run as `sql` tasks placed by `submit`: on a
 * hive that fetches cells they read samples it fetched (`samples`, input-sample.ts).
 */
export async function describeInputs(
  scheduler: Scheduler,
  files: readonly string[],
  format: InputFormat,
  signal: AbortSignal,
  submit: SubmitOptions = {},
): Promise<Column[][]> {
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += FILES_PER_PROBE) chunks.push(files.slice(i, i + FILES_PER_PROBE));
  const specs = chunks.map((chunk, c) => ({
    kind: 'sql' as const,
    sql:
      chunk
        .map(
          (f, j) =>
            `SELECT ${c * FILES_PER_PROBE + j} AS f, row_number() OVER () AS p, column_name AS c, column_type AS t FROM (DESCRIBE SELECT * FROM ${READERS[format]}(${sq(f)}))`,
        )
        .join(' UNION ALL ') + ' ORDER BY f, p',
    samples: { format, files: chunk },
  }));
  const out: Column[][] = files.map(() => []);
  for (const v of await runAll(scheduler, specs, {}, signal, undefined, submit)) {
    if (v.kind !== 'sql') throw new ApiaryError('INTERNAL', `a schema probe returned a ${v.kind} result`);
    for (const r of v.rows) out[Number(r.f)]!.push({ name: String(r.c), type: String(r.t) });
  }
  return out;
}

const INT_BITS: Record<string, [bits: number, signed: boolean]> = {
  TINYINT: [8, true],
  SMALLINT: [16, true],
  INTEGER: [32, true],
  BIGINT: [64, true],
  HUGEINT: [128, true],
  UTINYINT: [8, false],
  USMALLINT: [16, false],
  UINTEGER: [32, false],
  UBIGINT: [64, false],
  UHUGEINT: [128, false],
};
const SIGNED_BY_BITS: Record<number, string> = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT', 128: 'HUGEINT' };
const isNumeric = (t: string) => t in INT_BITS || t === 'FLOAT' || t === 'DOUBLE' || t.startsWith('DECIMAL');
const TIMES = new Set(['DATE', 'TIMESTAMP']);

/**
 * The one type two files' columns can share, or null. Integers widen to the smallest signed type
 * holding both (a mix with UBIGINT needs HUGEINT); any other numeric mix is DOUBLE (so a column that
 * is all integers in one CSV and has decimals in another is DOUBLE); DATE with TIMESTAMP is
 * TIMESTAMP. Anything else must be equal.
 */
export function unifyTypes(a: string, b: string): string | null {
  if (a === b) return a;
  const ia = INT_BITS[a];
  const ib = INT_BITS[b];
  if (ia && ib) {
    const need = (x: [number, boolean], other: [number, boolean]) => (x[1] || !other[1] ? x[0] : x[0] * 2);
    const bits = Math.max(need(ia, ib), need(ib, ia));
    if (ia[1] === ib[1] && !ia[1]) return bits === ia[0] ? a : b; // both unsigned: the wider one
    return SIGNED_BY_BITS[bits] ?? 'DOUBLE';
  }
  if (isNumeric(a) && isNumeric(b)) return 'DOUBLE';
  if (TIMES.has(a) && TIMES.has(b)) return 'TIMESTAMP';
  return null;
}

/**
 * One schema for the whole write, checked before any cell is written: every file must have the same
 * column names in the same order, and each column's types must unify. Otherwise FRAME_SCHEMA_MISMATCH
 * naming the file and the column.
 */
export function unifySchemas(files: readonly string[], schemas: readonly Column[][]): Column[] {
  const first = schemas[0] ?? [];
  const unified = first.map((c) => ({ ...c }));
  const from = first.map(() => files[0]!); // the file whose type each column has so far
  const mismatch = (msg: string) => new ApiaryError('FRAME_SCHEMA_MISMATCH', `${msg}; write the files separately or convert them first`);
  schemas.forEach((s, i) => {
    const file = files[i]!;
    for (let j = 0; j < Math.max(s.length, first.length); j++) {
      const here = s[j];
      const there = first[j];
      if (!here || !there || here.name !== there.name) {
        throw mismatch(`${file} has column ${j + 1} ${here ? `"${here.name}"` : '(none)'} where ${files[0]} has ${there ? `"${there.name}"` : '(none)'}`);
      }
      const t = unifyTypes(unified[j]!.type, here.type);
      if (t === null) throw mismatch(`column "${here.name}" is ${here.type} in ${file} but ${unified[j]!.type} in ${from[j]}`);
      if (t !== unified[j]!.type) from[j] = file;
      unified[j]!.type = t;
    }
  });
  return unified;
}
