// Ordering helpers behind pruning: exact where provable, "unsure" (undefined) otherwise.
import { describe, expect, it } from 'vitest';
import { compareInstants, compareNumbers, compareStrings, parseInstant } from '../src/values.js';

describe('compareNumbers', () => {
  it('is exact for safe integers', () => {
    expect(compareNumbers(1, 2)).toBe(-1);
    expect(compareNumbers(2, 2)).toBe(0);
    expect(compareNumbers(-3, -4)).toBe(1);
  });
  it('is unsure for near-equal fractions (FLOAT and DECIMAL statistics are approximate)', () => {
    expect(compareNumbers(Math.fround(0.8), 0.8)).toBeUndefined();
    expect(compareNumbers(0.1 + 0.2, 0.3)).toBeUndefined();
    expect(compareNumbers(0.5, 0.6)).toBe(-1);
    expect(compareNumbers(2 ** 60, 2 ** 60 + 4096)).toBeUndefined();
  });
  it('is unsure for non-finite values', () => {
    expect(compareNumbers(Number.NaN, 1)).toBeUndefined();
    expect(compareNumbers(Infinity, 1)).toBeUndefined();
  });
});

describe('compareStrings', () => {
  it('orders by UTF-8 bytes like DuckDB, not by UTF-16 code units', () => {
    expect(compareStrings('a', 'b')).toBe(-1);
    expect(compareStrings('B', 'a')).toBe(-1);
    expect(compareStrings('\uffff', '😀')).toBe(-1); // UTF-16 would say the opposite
    expect('\uffff' > '😀').toBe(true);
    expect(compareStrings('é', 'é')).toBe(0);
  });
});

describe('parseInstant', () => {
  const ns = (s: string) => parseInstant(s)?.ns;
  it('reads dates and timestamps as nanoseconds since the epoch', () => {
    expect(ns('1970-01-01')).toBe(0n);
    expect(ns('1970-01-02')).toBe(86_400_000_000_000n);
    expect(ns('2024-02-29 12:00:00')).toBe(BigInt(Date.UTC(2024, 1, 29, 12)) * 1_000_000n);
    expect(ns('1969-12-31T23:59:59.999999999')).toBe(-1n);
    expect(ns('2024-01-01T00:00:00.5')).toBe(BigInt(Date.UTC(2024, 0, 1)) * 1_000_000n + 500_000_000n);
  });
  it('applies offsets and remembers whether there was one', () => {
    expect(parseInstant('2024-01-01 02:00:00+02')).toMatchObject({ offset: 120, ns: BigInt(Date.UTC(2024, 0, 1)) * 1_000_000n });
    expect(parseInstant('2024-01-01T00:00:00Z')?.offset).toBe(0);
    expect(parseInstant('2024-01-01 00:00:00')?.offset).toBeNull();
    expect(parseInstant('2024-01-01')?.dateOnly).toBe(true);
  });
  it('refuses what it cannot read exactly', () => {
    for (const s of ['infinity', '2024-13-01', '20240-01-01', '2024-01-01 25:00:00', 'item-0150', '44 BC']) {
      expect(parseInstant(s)).toBeUndefined();
    }
  });
  it('compares instants exactly', () => {
    expect(compareInstants(parseInstant('2024-01-01')!, parseInstant('2024-01-01 00:00:00.000000001')!)).toBe(-1);
  });
});
