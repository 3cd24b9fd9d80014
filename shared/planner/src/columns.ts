// What the planner knows about a frame's columns: declared DuckDB types when the catalog gives
// them, otherwise only what the statistics values suggest.
import type { Cell, ColumnStats, FrameInfo } from './types.js';

export type TimeUnit = 'day' | 's' | 'ms' | 'us' | 'ns';

export type ColumnClass =
  | { kind: 'num' }
  | { kind: 'str' }
  | { kind: 'time'; unit: TimeUnit; zoned: boolean }
  | { kind: 'other' }
  /** No declared type: judged per statistics value. */
  | { kind: 'unknown' };

const NUMERIC = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'INT',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
  'FLOAT',
  'REAL',
  'DOUBLE',
  'DECIMAL',
  'NUMERIC',
  'INT1',
  'INT2',
  'INT4',
  'INT8',
  'FLOAT4',
  'FLOAT8',
  'DOUBLE PRECISION',
  'LONG',
  'SHORT',
  'SIGNED',
]);
const STRING = new Set(['VARCHAR', 'TEXT', 'STRING', 'CHAR', 'BPCHAR']);
const TIME: Record<string, { unit: TimeUnit; zoned: boolean }> = {
  DATE: { unit: 'day', zoned: false },
  TIMESTAMP: { unit: 'us', zoned: false },
  DATETIME: { unit: 'us', zoned: false },
  'TIMESTAMP WITHOUT TIME ZONE': { unit: 'us', zoned: false },
  TIMESTAMP_US: { unit: 'us', zoned: false },
  TIMESTAMP_S: { unit: 's', zoned: false },
  TIMESTAMP_MS: { unit: 'ms', zoned: false },
  TIMESTAMP_NS: { unit: 'ns', zoned: false },
  'TIMESTAMP WITH TIME ZONE': { unit: 'us', zoned: true },
  TIMESTAMPTZ: { unit: 'us', zoned: true },
};

/** Upper-cased type name without modifiers: "decimal(12, 2)" → "DECIMAL". */
export function baseTypeName(type: string): string {
  return type
    .trim()
    .toUpperCase()
    .replace(/\s*\(.*\)\s*$/, '')
    .replace(/\s+/g, ' ');
}

export function classify(type: string | undefined): ColumnClass {
  if (type === undefined) return { kind: 'unknown' };
  const t = baseTypeName(type);
  if (NUMERIC.has(t)) return { kind: 'num' };
  if (STRING.has(t)) return { kind: 'str' };
  const time = TIME[t];
  return time ? { kind: 'time', ...time } : { kind: 'other' };
}

/** Declared columns by lower-cased name, or null when the catalog gave no schema. */
export function declaredColumns(frame: FrameInfo): Map<string, { name: string; type: string }> | null {
  if (!frame.columns) return null;
  return new Map(frame.columns.map((c) => [c.name.toLowerCase(), c]));
}

/** A cell's statistics for a column, matched like DuckDB matches identifiers (case-insensitively). */
export function statsOf(cell: Cell, column: string): ColumnStats | undefined {
  const stats = cell.stats;
  if (!stats) return undefined;
  if (Object.hasOwn(stats, column)) return stats[column];
  const key = Object.keys(stats).find((k) => k.toLowerCase() === column.toLowerCase());
  return key === undefined ? undefined : stats[key];
}

/** The frame's own spelling of a column (DuckDB names a bare column output after it), if known. */
export function columnSpelling(frame: FrameInfo, column: string): string | undefined {
  const lower = column.toLowerCase();
  const declared = frame.columns?.find((c) => c.name.toLowerCase() === lower);
  if (declared) return declared.name;
  if (frame.columns) return undefined;
  for (const cell of frame.cells) {
    const key = Object.keys(cell.stats ?? {}).find((k) => k.toLowerCase() === lower);
    if (key !== undefined) return key;
  }
  return undefined;
}

/** Without a schema, a column counts as numeric when every known min/max is a JSON number. */
export function looksNumeric(frame: FrameInfo, column: string): boolean {
  let seen = false;
  for (const cell of frame.cells) {
    const s = statsOf(cell, column);
    for (const v of s ? [s.min, s.max] : []) {
      if (v === null) continue;
      if (typeof v !== 'number') return false;
      seen = true;
    }
  }
  return seen;
}
