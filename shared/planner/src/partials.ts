// Map partials that travel in task results instead of Parquet files (issue 11): which types may,
// and the CTE a merge reads them through.
import { frameSelectSql, quoteIdent, quoteString } from './render.js';
import type { FrameColumn } from './types.js';

/** A map step's rows as they came back inline: each value is DuckDB's VARCHAR text of it. */
export interface InlinePartial {
  columns: readonly FrameColumn[];
  rows: readonly (readonly (string | null)[])[];
}

/**
 * Types whose VARCHAR text casts back to the very same value (DuckDB prints doubles with the
 * shortest text that round-trips, decimals and integers exactly, times with their unit and offset).
 * Anything else (nested, ENUM, BLOB, BIT, user types) keeps its partial in a file.
 */
const INLINE_TYPES =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d{1,2},\d{1,2}\)|VARCHAR|DATE|TIME|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|INTERVAL|UUID)$/;

export function inlineType(type: string): boolean {
  return INLINE_TYPES.test(type);
}

/**
 * The inline rows as a relation cast back to their types: a VALUES list of string literals, so no
 * value is ever SQL; with no rows, a typed empty relation of the map's columns.
 */
export function inlineSelectSql(view: string, inline: InlinePartial): string {
  for (const c of inline.columns) if (!inlineType(c.type)) throw new Error(`an inline partial of type ${c.type}`);
  const width = inline.columns.length;
  if (inline.rows.length === 0) return frameSelectSql(view, [], inline.columns);
  const values = inline.rows.map((r) => {
    if (r.length !== width) throw new Error(`an inline partial row of ${r.length} values for ${width} columns`);
    return `(${r.map((v) => (v === null ? 'NULL' : quoteString(v))).join(', ')})`;
  });
  const aliases = inline.columns.map((_, i) => `__v${i}`);
  const casts = inline.columns.map((c, i) => `CAST(${aliases[i]} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
  return `SELECT ${casts} FROM (VALUES ${values.join(', ')}) AS __inline(${aliases.join(', ')})`;
}

/**
 * A merge over partials, some of which came back inline, as ONE statement: each such name becomes a
 * CTE in front of the merge SQL, the union (BY NAME; types unify as in any UNION) of its Parquet
 * partials and its inline rows, either alone when the other is empty. A temp table and a view made
 * and dropped per merge cost four more statements (issue 10). The merge SQL is the planner's: one
 * SELECT over the partials, no WITH of its own, so the CTE goes in front of it as it is.
 */
export function withInlinePartials(sql: string, inline: Readonly<Record<string, InlinePartial>>, files: Readonly<Record<string, readonly string[]>>): string {
  const ctes = Object.entries(inline).map(([name, rows]) => {
    const own = files[name] ?? [];
    const rel = inlineSelectSql(name, rows);
    const body = own.length === 0 ? rel : `${frameSelectSql(name, own)} UNION ALL BY NAME ${rel}`;
    return `${quoteIdent(name)} AS (${body})`;
  });
  return ctes.length === 0 ? sql : `WITH ${ctes.join(', ')} ${sql}`;
}
