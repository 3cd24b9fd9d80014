// Splitting a frame's cells into map groups: each group within the byte budget of one bee,
// and at least one group per bee when there are enough cells.
import type { Cell, CellGroup } from './types.js';

export interface GroupingOptions {
  bees: number;
  targetBytesPerGroup: number;
}

/** Longest-processing-time packing into `count` groups: the largest cell goes to the lightest group. */
function pack(sorted: Cell[], count: number): Cell[][] {
  const groups: { cells: Cell[]; bytes: number }[] = Array.from({ length: count }, () => ({ cells: [], bytes: 0 }));
  for (const cell of sorted) {
    const lightest = groups.reduce((a, b) => (b.bytes < a.bytes || (b.bytes === a.bytes && b.cells.length < a.cells.length) ? b : a));
    lightest.cells.push(cell);
    lightest.bytes += cell.bytes;
  }
  return groups.map((g) => g.cells);
}

export function groupCells(cells: readonly Cell[], options: GroupingOptions): CellGroup[] {
  if (cells.length === 0) return [];
  const bees = Math.max(1, Math.floor(options.bees) || 1);
  const target = options.targetBytesPerGroup > 0 ? options.targetBytesPerGroup : Infinity;
  const total = cells.reduce((s, c) => s + c.bytes, 0);
  const order = new Map(cells.map((c, i) => [c, i]));
  const sorted = [...cells].sort((a, b) => b.bytes - a.bytes || order.get(a)! - order.get(b)!);
  const fits = (g: Cell[]) => g.length === 1 || g.reduce((s, c) => s + c.bytes, 0) <= target;
  let count = Math.min(cells.length, Math.max(bees, Number.isFinite(target) ? Math.ceil(total / target) : 1));
  let groups = pack(sorted, count);
  while (!groups.every(fits) && count < cells.length) groups = pack(sorted, ++count);
  return groups
    .map((g) => g.sort((a, b) => order.get(a)! - order.get(b)!))
    .sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!)
    .map((g, index) => ({ index, cells: g, bytes: g.reduce((s, c) => s + c.bytes, 0) }));
}
