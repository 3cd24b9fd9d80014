// Map partials that travel in task results instead of Parquet files (issue 11): which types may,
// and the view a merge reads them through.
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

/** The temp table holding a view's inline rows (a view over VALUES made each merge query ~4x slower). */
export function inlineTableName(view: string): string {
  return `__apiary_inline_${view}`;
}

/**
 * The inline rows as a temp table, cast back to their types: a VALUES list of string literals, so
 * no value is ever SQL. Made before the view that reads it, dropped with that view.
 */
export function inlineTableSql(view: string, inline: InlinePartial): string {
  for (const c of inline.columns) if (!inlineType(c.type)) throw new Error(`an inline partial of type ${c.type}`);
  const width = inline.columns.length;
  const head = `CREATE OR REPLACE TEMP TABLE ${quoteIdent(inlineTableName(view))} AS `;
  if (inline.rows.length === 0) return `${head}${frameSelectSql(view, [], inline.columns)}`;
  const values = inline.rows.map((r) => {
    if (r.length !== width) throw new Error(`an inline partial row of ${r.length} values for ${width} columns`);
    return `(${r.map((v) => (v === null ? 'NULL' : quoteString(v))).join(', ')})`;
  });
  const aliases = inline.columns.map((_, i) => `__v${i}`);
  const casts = inline.columns.map((c, i) => `CAST(${aliases[i]} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
  return `${head}SELECT ${casts} FROM (VALUES ${values.join(', ')}) AS __inline(${aliases.join(', ')})`;
}

/**
 * The merge's view over every map output: the Parquet partials (read as any frame view) and the
 * inline rows' table (inlineTableSql), in one UNION ALL BY NAME; either alone when the other is empty.
 */
export function partialsViewSql(name: string, files: readonly string[]): string {
  const rows = `SELECT * FROM temp.main.${quoteIdent(inlineTableName(name))}`;
  if (files.length === 0) return `CREATE OR REPLACE TEMP VIEW ${quoteIdent(name)} AS ${rows}`;
  // By name, though both are in the map SQL's column order; types unify as in any UNION.
  return `CREATE OR REPLACE TEMP VIEW ${quoteIdent(name)} AS ${frameSelectSql(name, files)} UNION ALL BY NAME ${rows}`;
}
