import type { Column, ColumnStats } from '@apiary/protocol';
import { MAX_BOUND_CHARS, NESTED } from './cell-stats.js';
import type { Duck } from './duck.js';
import { ident, lit } from './sql-text.js';

/**
 * A cell's statistics from what DuckDB's Parquet writer recorded while it wrote the cell
 * (`COPY … (RETURN_STATS)`), instead of a second full read of the cell (issue 11: that read was
 * ~20 % of a write's CPU). Exactness is kept: a column whose recorded value is not exactly what
 * min()/max() over the cell would give is still read from the cell, that column only.
 */

/** DuckDB's writer cuts string statistics to this many bytes: a value that long may be a bound, not a value. */
const STRING_STATS_BYTES = 256;

/**
 * Types whose recorded min/max, as RETURN_STATS prints them, cast back to exactly min()/max() over
 * the cell, and which keep their type through Parquet (so the cast renders as the cell's column
 * would). Others (BLOB prints hex, UUID, INTERVAL, ENUM, HUGEINT, TIMESTAMP_S/_MS, TIME WITH TIME
 * ZONE…) are read from the cell. services/bee/test/copy-stats.test.ts holds each of these to it.
 */
const EXACT =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIME|TIMESTAMP|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|VARCHAR)$/;

/** One file a COPY wrote: its rows and, per top-level column (keyed by its quoted name), the writer's numbers. */
export interface CopiedFile {
  rows: number;
  columns: Map<string, Record<string, string>>;
}

/** The rows of `COPY … (RETURN_STATS)` by absolute file name (MAP values arrive as [{key, value}] lists). */
export function copiedFiles(rows: readonly Record<string, unknown>[]): Map<string, CopiedFile> {
  const out = new Map<string, CopiedFile>();
  for (const r of rows) {
    const columns = new Map<string, Record<string, string>>();
    for (const e of entries(r.column_statistics)) {
      columns.set(String(e.key), Object.fromEntries(entries(e.value).map((x) => [String(x.key), String(x.value)])));
    }
    out.set(String(r.filename), { rows: Number(r.count), columns });
  }
  return out;
}

function entries(v: unknown): { key: unknown; value: unknown }[] {
  return Array.isArray(v) ? (v as { key: unknown; value: unknown }[]) : [];
}

type Plan = { kind: 'null'; nulls: number } | { kind: 'cast'; min: string; max: string; nulls: number } | { kind: 'scan' };

/** How to get one column's stats: from the writer's numbers, or by reading that column of the cell. */
function planColumn(c: Column, rows: number, s: Record<string, string> | undefined): Plan {
  if (!s || NESTED.test(c.type) || !EXACT.test(c.type) || s.null_count === undefined) return { kind: 'scan' };
  const nulls = Number(s.null_count);
  if (!Number.isSafeInteger(nulls)) return { kind: 'scan' };
  if (nulls === rows) return { kind: 'null', nulls }; // all NULL: min() and max() are NULL
  if (s.min === undefined || s.max === undefined || s.has_nan === 'true') return { kind: 'scan' };
  const cut = (x: string) => Buffer.byteLength(x) >= STRING_STATS_BYTES;
  if (c.type === 'VARCHAR' && (cut(s.min) || cut(s.max))) return { kind: 'scan' };
  return { kind: 'cast', min: s.min, max: s.max, nulls };
}

/**
 * rows and per-column min / max / null_count of one cell that `copied` describes: one SQL query,
 * FROM-less when every column's numbers are exact (the casts render values as a scan would).
 */
export async function statsFromCopy(
  duck: Duck,
  file: string,
  schema: readonly Column[],
  copied: CopiedFile,
  signal: AbortSignal,
): Promise<{ rows: number; stats: Record<string, ColumnStats> }> {
  const parts: string[] = [];
  let scans = false;
  const plans = schema.map((c, i) => {
    const p = planColumn(c, copied.rows, copied.columns.get(ident(c.name)));
    if (p.kind === 'cast') parts.push(`CAST(${lit(p.min)} AS ${c.type}) AS mn${i}`, `CAST(${lit(p.max)} AS ${c.type}) AS mx${i}`);
    if (p.kind === 'scan') {
      scans = true;
      const col = ident(c.name);
      if (!NESTED.test(c.type)) parts.push(`min(${col}) AS mn${i}`, `max(${col}) AS mx${i}`);
      parts.push(`count(*) - count(${col}) AS nu${i}`);
    }
    return p;
  });
  let row: Record<string, unknown> = {};
  if (parts.length > 0) {
    const r = await duck.query(`SELECT ${parts.join(', ')}${scans ? ` FROM read_parquet(${lit(file)})` : ''}`, signal);
    row = r.rows[0] ?? {};
  }
  const bound = (v: unknown) => (typeof v === 'string' && v.length > MAX_BOUND_CHARS ? null : (v ?? null));
  const stats: Record<string, ColumnStats> = {};
  schema.forEach((c, i) => {
    const p = plans[i]!;
    const nulls = p.kind === 'scan' ? Number(row[`nu${i}`] ?? 0) : p.nulls;
    stats[c.name] = { min: bound(row[`mn${i}`]), max: bound(row[`mx${i}`]), null_count: nulls };
  });
  return { rows: copied.rows, stats };
}
