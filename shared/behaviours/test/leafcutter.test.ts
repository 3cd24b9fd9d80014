import { describe, expect, it } from 'vitest';
import { DEFAULT_MIN_CELL_BYTES, MIB, cellSizing, planCells, type CellSizing } from '../src/index.js';
import { configInvalid } from './assert.js';

const GiB = 1024 * MIB;

describe('cellSizing', () => {
  it('4 GB Pi, 4 bees of 1 GiB: 256 MiB target, 512 MiB max, 16 MiB min', () => {
    expect(DEFAULT_MIN_CELL_BYTES).toBe(16 * MIB);
    expect(cellSizing(1 * GiB)).toEqual({ targetBytes: 256 * MIB, maxBytes: 512 * MIB, minBytes: 16 * MIB });
  });

  it('NUC / cloud VM, 4 GiB per bee: 1 GiB target, 2 GiB max', () => {
    expect(cellSizing(4 * GiB)).toEqual({ targetBytes: 1 * GiB, maxBytes: 2 * GiB, minBytes: 16 * MIB });
  });

  it('tiny budgets hit the 16 MiB floor, and max follows the raised target', () => {
    expect(cellSizing(64 * MIB)).toEqual({ targetBytes: 16 * MIB, maxBytes: 32 * MIB, minBytes: 16 * MIB }); // exactly the floor
    expect(cellSizing(64 * MIB - 4)).toEqual({ targetBytes: 16 * MIB, maxBytes: 32 * MIB, minBytes: 16 * MIB });
    expect(cellSizing(32 * MIB)).toEqual({ targetBytes: 16 * MIB, maxBytes: 32 * MIB, minBytes: 16 * MIB });
    expect(cellSizing(1)).toEqual({ targetBytes: 16 * MIB, maxBytes: 32 * MIB, minBytes: 16 * MIB });
    expect(cellSizing(64 * MIB + 4)).toEqual({ targetBytes: 16 * MIB + 1, maxBytes: 32 * MIB + 2, minBytes: 16 * MIB });
  });

  it('takes a configurable floor (for tests)', () => {
    expect(cellSizing(64 * 1024, { minBytes: 1024 })).toEqual({ targetBytes: 16 * 1024, maxBytes: 32 * 1024, minBytes: 1024 });
    expect(cellSizing(2048, { minBytes: 1024 })).toEqual({ targetBytes: 1024, maxBytes: 2048, minBytes: 1024 });
  });

  it('rounds the target down to whole bytes', () => {
    expect(cellSizing(1001, { minBytes: 1 })).toEqual({ targetBytes: 250, maxBytes: 500, minBytes: 1 });
  });

  it('refuses nonsense', () => {
    configInvalid(() => cellSizing(0));
    configInvalid(() => cellSizing(-1));
    configInvalid(() => cellSizing(Number.NaN));
    configInvalid(() => cellSizing(Infinity));
    configInvalid(() => cellSizing(GiB, { minBytes: 0 }));
    configInvalid(() => cellSizing(GiB, { minBytes: 1.5 }));
  });
});

describe('planCells', () => {
  const pi = cellSizing(1 * GiB); // 16 / 256 / 512 MiB

  it('0 bytes is no cell', () => {
    expect(planCells(0, pi)).toEqual({ cells: 0, bytesPerCell: 0, withinBounds: true });
  });

  it('a total smaller than min is one cell (necessarily under the floor)', () => {
    expect(planCells(1, pi)).toEqual({ cells: 1, bytesPerCell: 1, withinBounds: false });
    expect(planCells(10 * MIB, pi)).toEqual({ cells: 1, bytesPerCell: 10 * MIB, withinBounds: false });
    expect(planCells(16 * MIB - 1, pi)).toEqual({ cells: 1, bytesPerCell: 16 * MIB - 1, withinBounds: false });
  });

  it('exactly min, and anything up to 1.5 × target, is one cell', () => {
    expect(planCells(16 * MIB, pi)).toEqual({ cells: 1, bytesPerCell: 16 * MIB, withinBounds: true });
    expect(planCells(100 * MIB, pi)).toEqual({ cells: 1, bytesPerCell: 100 * MIB, withinBounds: true });
    expect(planCells(256 * MIB, pi)).toEqual({ cells: 1, bytesPerCell: 256 * MIB, withinBounds: true });
    expect(planCells(384 * MIB - 1, pi)).toEqual({ cells: 1, bytesPerCell: 384 * MIB - 1, withinBounds: true });
  });

  it('splits evenly into cells near the target', () => {
    expect(planCells(384 * MIB, pi)).toEqual({ cells: 2, bytesPerCell: 192 * MIB, withinBounds: true });
    expect(planCells(1 * GiB, pi)).toEqual({ cells: 4, bytesPerCell: 256 * MIB, withinBounds: true });
    expect(planCells(1 * GiB + 1, pi)).toEqual({ cells: 4, bytesPerCell: 256 * MIB + 1, withinBounds: true });
    expect(planCells(10 * GiB, pi)).toEqual({ cells: 40, bytesPerCell: 256 * MIB, withinBounds: true });
  });

  it('never cuts cells under min when target is at the floor', () => {
    const floor = cellSizing(32 * MIB); // 16 / 16 / 32 MiB
    // round(40 / 16) = 3 cells would be 13.3 MiB each: under min, so 2 cells of 20 MiB
    expect(planCells(40 * MIB, floor)).toEqual({ cells: 2, bytesPerCell: 20 * MIB, withinBounds: true });
    expect(planCells(17 * MIB, floor)).toEqual({ cells: 1, bytesPerCell: 17 * MIB, withinBounds: true });
    expect(planCells(33 * MIB, floor)).toEqual({ cells: 2, bytesPerCell: 16.5 * MIB, withinBounds: true });
    expect(planCells(32 * MIB, floor)).toEqual({ cells: 2, bytesPerCell: 16 * MIB, withinBounds: true });
  });

  it('rounds a fractional total up to whole bytes', () => {
    expect(planCells(0.5, pi)).toEqual({ cells: 1, bytesPerCell: 1, withinBounds: false });
  });

  it('prefers max over min when a hand-made sizing leaves no count within both', () => {
    const tight: CellSizing = { minBytes: 10, targetBytes: 10, maxBytes: 12 };
    // 2 cells would be 12.5 (> max), 3 cells 8.3 (< min): take 3
    expect(planCells(25, tight)).toEqual({ cells: 3, bytesPerCell: 9, withinBounds: false });
    expect(planCells(24, tight)).toEqual({ cells: 2, bytesPerCell: 12, withinBounds: true });
  });

  it('keeps every cell within [min, max] for any total ≥ min (sweep)', () => {
    const sizings = [pi, cellSizing(32 * MIB), cellSizing(100 * MIB), cellSizing(4096, { minBytes: 1000 }), cellSizing(4000, { minBytes: 1000 })];
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const s of sizings) {
      const totals = [s.minBytes, s.minBytes + 1, s.targetBytes, s.maxBytes, s.maxBytes + 1, 2 * s.maxBytes + 1];
      for (let i = 0; i < 500; i++) totals.push(s.minBytes + Math.floor(rand() * 200 * s.targetBytes));
      for (const total of totals) {
        const p = planCells(total, s);
        const small = Math.floor(total / p.cells);
        expect(p.withinBounds, `${total} in ${JSON.stringify(s)}`).toBe(true);
        expect(small).toBeGreaterThanOrEqual(s.minBytes);
        expect(p.bytesPerCell).toBeLessThanOrEqual(s.maxBytes);
        expect(p.bytesPerCell * p.cells).toBeGreaterThanOrEqual(total);
        expect(small * p.cells).toBeLessThanOrEqual(total);
        // the count nearest the target whenever the bounds allow it
        const ideal = Math.max(1, Math.round(total / s.targetBytes));
        if (total / ideal >= s.minBytes && total / ideal <= s.maxBytes) expect(p.cells).toBe(ideal);
      }
    }
  });

  it('refuses nonsense', () => {
    expect(() => planCells(-1, pi)).toThrow(RangeError);
    expect(() => planCells(Number.NaN, pi)).toThrow(RangeError);
    expect(() => planCells(Infinity, pi)).toThrow(RangeError);
    configInvalid(() => planCells(100, { minBytes: 0, targetBytes: 10, maxBytes: 20 }));
    configInvalid(() => planCells(100, { minBytes: 20, targetBytes: 10, maxBytes: 20 }));
    configInvalid(() => planCells(100, { minBytes: 5, targetBytes: 10, maxBytes: 8 }));
  });
});
