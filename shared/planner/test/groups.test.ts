// Cell groups: within the byte budget, at least one per bee when there are enough cells.
import { describe, expect, it } from 'vitest';
import { groupCells, type Cell } from '../src/index.js';

const cells = (...bytes: number[]): Cell[] => bytes.map((b, i) => ({ path: `c${i}`, bytes: b }));
const paths = (gs: { cells: Cell[] }[]) => gs.map((g) => g.cells.map((c) => c.path));

describe('groupCells', () => {
  it('makes at least `bees` groups when there are enough cells', () => {
    const gs = groupCells(cells(10, 10, 10, 10, 10, 10), { bees: 3, targetBytesPerGroup: 1000 });
    expect(gs.map((g) => g.bytes)).toEqual([20, 20, 20]);
  });
  it('makes one group per cell when there are fewer cells than bees', () => {
    expect(groupCells(cells(5, 7), { bees: 4, targetBytesPerGroup: 1000 })).toHaveLength(2);
  });
  it('keeps every group within the budget, a larger cell alone', () => {
    const gs = groupCells(cells(90, 30, 30, 30, 500, 20, 60), { bees: 1, targetBytesPerGroup: 100 });
    for (const g of gs) expect(g.bytes <= 100 || g.cells.length === 1).toBe(true);
    expect(gs.flatMap((g) => g.cells).length).toBe(7);
    expect(gs.find((g) => g.bytes === 500)?.cells).toHaveLength(1);
  });
  it('is deterministic and keeps catalog order inside and across groups', () => {
    const input = cells(10, 40, 10, 40);
    const a = groupCells(input, { bees: 2, targetBytesPerGroup: 1000 });
    expect(paths(a)).toEqual([
      ['c0', 'c1'],
      ['c2', 'c3'],
    ]);
    expect(paths(groupCells(input, { bees: 2, targetBytesPerGroup: 1000 }))).toEqual(paths(a));
    expect(a.map((g) => g.index)).toEqual([0, 1]);
  });
  it('never makes empty groups, even with zero-byte cells', () => {
    const gs = groupCells(cells(0, 0, 0, 0), { bees: 3, targetBytesPerGroup: 1000 });
    expect(gs).toHaveLength(3);
    for (const g of gs) expect(g.cells.length).toBeGreaterThan(0);
  });
  it('handles no cells and odd options', () => {
    expect(groupCells([], { bees: 3, targetBytesPerGroup: 10 })).toEqual([]);
    expect(groupCells(cells(5, 5), { bees: 0, targetBytesPerGroup: 0 })).toHaveLength(1);
  });
});
