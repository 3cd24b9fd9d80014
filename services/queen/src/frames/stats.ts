import type { Column, ColumnStats } from '@apiary/protocol';

/**
 * Order of two stats bounds as the bee reported them (JSON-safe DuckDB values): numbers, booleans,
 * ISO date strings, and integers too large for a double as decimal strings. null = incomparable.
 */
export function compareBounds(a: unknown, b: unknown): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const int = /^-?\d+$/;
  if (typeof a === 'string' && typeof b === 'string') {
    if (int.test(a) && int.test(b)) return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  // A big integer (string) against a number: compare as integers when the number is one.
  if (typeof a === 'string' && typeof b === 'number' && int.test(a) && Number.isInteger(b)) return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'string') {
    const r = compareBounds(b, a);
    return r === null ? null : -r;
  }
  return null;
}

interface CellStatsInput {
  rows: number;
  stats: Record<string, ColumnStats>;
}

/**
 * Per-column stats over many cells: min of mins, max of maxes, sum of null counts. A cell whose
 * column is all NULL has no bounds and is skipped; an unknown bound makes the result unknown.
 */
export function mergeStats(schema: readonly Column[], cells: readonly CellStatsInput[]): (Column & ColumnStats)[] {
  return schema.map((c) => {
    let min: unknown;
    let max: unknown;
    let unknown = false;
    let nulls = 0;
    for (const cell of cells) {
      const s = cell.stats[c.name];
      if (!s) {
        unknown = true;
        continue;
      }
      nulls += s.null_count;
      if (s.null_count >= cell.rows) continue;
      if (s.min === null || s.max === null) {
        unknown = true;
        continue;
      }
      min = min === undefined ? s.min : pick(min, s.min, -1);
      max = max === undefined ? s.max : pick(max, s.max, 1);
      if (min === null || max === null) unknown = true;
    }
    return { ...c, min: unknown ? null : (min ?? null), max: unknown ? null : (max ?? null), null_count: nulls };
  });
}

/** The lesser (dir -1) or greater (dir 1) bound; null when they cannot be compared. */
function pick(a: unknown, b: unknown, dir: -1 | 1): unknown {
  const c = compareBounds(a, b);
  if (c === null) return null;
  return c * dir >= 0 ? a : b;
}
