import { describe, expect, it } from 'vitest';
import type { TemperatureView } from '@apiary/protocol';
import { admitWrite } from '../src/frames/admission.js';
import { FrameCatalog, type NewCell } from '../src/frames/catalog.js';
import { compareBounds, mergeStats } from '../src/frames/stats.js';

const temp = (value: number, level: TemperatureView['level']): TemperatureView => ({
  value,
  level,
  cpu: value,
  memoryPressure: value,
  queuePressure: 0,
  regulation: '',
});

const schema = [
  { name: 'id', type: 'BIGINT' },
  { name: 's', type: 'VARCHAR' },
];
const cell = (id: string, min: number, max: number, nulls = 0): NewCell => ({
  id,
  path: `frames/f/cells/${id}.parquet`,
  rows: max - min + 1,
  bytes: 100,
  sha256: 'a'.repeat(64),
  stats: { id: { min, max, null_count: 0 }, s: { min: `s${min}`, max: `s${max}`, null_count: nulls } },
});

describe('write admission', () => {
  it('admits at once below hot', async () => {
    await expect(admitWrite(() => temp(0.5, 'ideal'))).resolves.toBeUndefined();
  });

  it('waits while hot, then fails with a retryable COLONY_HOT', async () => {
    const t0 = Date.now();
    const err = await admitWrite(() => temp(0.9, 'hot'), undefined, { writeMaxWaitMs: 200, recheckMs: 20 }).catch((e) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(err).toMatchObject({ code: 'COLONY_HOT', details: { level: 'hot' } });
    expect(err.details.retryAfterMs).toBeGreaterThan(0);
  });

  it('goes ahead once the colony cools within the bound', async () => {
    let calls = 0;
    await admitWrite(() => (++calls < 3 ? temp(0.96, 'critical') : temp(0.4, 'ideal')), undefined, { writeMaxWaitMs: 1000, recheckMs: 10 });
    expect(calls).toBe(3);
  });
});

describe('frame catalog', () => {
  it('records appends and overwrites as versions made of cells', () => {
    const c = FrameCatalog.memory();
    expect(c.commit({ frame: 'f', mode: 'append', writeId: 'w1', schema, cells: [cell('a', 0, 9), cell('b', 10, 19, 2)] })).toEqual({
      version: 1,
      rows: 20,
      bytes: 200,
    });
    expect(c.commit({ frame: 'f', mode: 'append', writeId: 'w2', schema, cells: [cell('c', 20, 29)] }).version).toBe(2);
    expect(c.cells('f').map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(c.cells('f', 1).map((x) => x.id)).toEqual(['a', 'b']);
    const d = c.describe('f', '/root');
    expect(d).toMatchObject({ version: 2, versions: 2, rows: 30, cells: 3 });
    expect(d.columns[0]).toMatchObject({ name: 'id', min: 0, max: 29, null_count: 0 });
    expect(d.columns[1]).toMatchObject({ name: 's', null_count: 2 });
    expect(c.commit({ frame: 'f', mode: 'overwrite', writeId: 'w3', schema, cells: [cell('d', 100, 104)] })).toEqual({ version: 3, rows: 5, bytes: 100 });
    expect(c.list()).toEqual([expect.objectContaining({ name: 'f', version: 3, versions: 3, rows: 5, cells: 1 })]);
    expect(c.drop('f').sort()).toEqual(['a', 'b', 'c', 'd'].map((x) => `frames/f/cells/${x}.parquet`));
    expect(c.list()).toEqual([]);
    expect(() => c.describe('f', '/root')).toThrow(expect.objectContaining({ code: 'FRAME_NOT_FOUND' }));
    c.close();
  });

  it('keeps names and the current snapshot until a commit, retire or drop changes the frame', () => {
    const c = FrameCatalog.memory();
    expect(c.names()).toEqual([]);
    c.commit({ frame: 'f', mode: 'append', writeId: 'w1', schema, cells: [cell('a', 0, 9)] });
    c.commit({ frame: 'g', mode: 'append', writeId: 'w2', schema, cells: [cell('g1', 0, 9)] });
    expect(c.names()).toEqual(['f', 'g']);
    const s1 = c.snapshot('f');
    expect(c.snapshot('f')).toBe(s1); // kept: no SQLite read, the same frozen object
    expect(Object.isFrozen(s1) && Object.isFrozen(s1.cells) && Object.isFrozen(s1.cells[0])).toBe(true);
    expect(c.newerVersions('f', 1)).toBe(0);
    c.commit({ frame: 'f', mode: 'append', writeId: 'w3', schema, cells: [cell('b', 10, 19)] });
    const s2 = c.snapshot('f');
    expect(s2).not.toBe(s1);
    expect(s2).toMatchObject({ version: 2, cells: [{ id: 'a' }, { id: 'b' }] });
    expect(s1).toMatchObject({ version: 1, cells: [{ id: 'a' }] }); // an old snapshot stays what it was
    expect(c.newerVersions('f', 1)).toBe(1);
    expect(c.snapshot('g')).toBe(c.snapshot('g')); // another frame's commit left g's alone
    c.retire('f', 1);
    expect(c.snapshot('f')).toMatchObject({ version: 2, cells: [{ id: 'a' }, { id: 'b' }] });
    expect(c.newerVersions('f', 1)).toBe(1);
    c.drop('f');
    expect(c.names()).toEqual(['g']);
    expect(() => c.snapshot('f')).toThrow(expect.objectContaining({ code: 'FRAME_NOT_FOUND' }));
    c.commit({ frame: 'f', mode: 'overwrite', writeId: 'w4', schema, cells: [cell('c', 0, 4)] });
    expect(c.names()).toEqual(['f', 'g']);
    expect(c.snapshot('f')).toMatchObject({ version: 1, cells: [{ id: 'c' }] }); // a new frame of the same name
    c.close();
  });

  it('refuses an append with other columns and leaves no trace of it', () => {
    const c = FrameCatalog.memory();
    c.commit({ frame: 'f', mode: 'append', writeId: 'w1', schema, cells: [cell('a', 0, 9)] });
    const other = [{ name: 'id', type: 'VARCHAR' }];
    expect(() => c.commit({ frame: 'f', mode: 'append', writeId: 'w2', schema: other, cells: [cell('b', 10, 19)] })).toThrow(
      expect.objectContaining({ code: 'FRAME_SCHEMA_MISMATCH' }),
    );
    expect(c.describe('f', '/r')).toMatchObject({ version: 1, versions: 1, cells: 1 });
    expect(c.allCellPaths()).toEqual(new Set(['frames/f/cells/a.parquet']));
    c.close();
  });
});

describe('stats bounds', () => {
  it('orders numbers, ISO dates and integers beyond 2^53', () => {
    expect(compareBounds(1, 2)).toBeLessThan(0);
    expect(compareBounds('2024-01-02', '2023-12-31')).toBeGreaterThan(0);
    expect(compareBounds('9007199254740993', '10000000000000000000')).toBeLessThan(0);
    expect(compareBounds('9007199254740993', 5)).toBeGreaterThan(0);
    expect(compareBounds({}, 1)).toBeNull();
  });

  it('skips all-NULL cells and makes unknown bounds unknown', () => {
    const s = [{ name: 'x', type: 'BIGINT' }];
    expect(
      mergeStats(s, [
        { rows: 2, stats: { x: { min: null, max: null, null_count: 2 } } },
        { rows: 3, stats: { x: { min: 4, max: 9, null_count: 0 } } },
      ])[0],
    ).toMatchObject({ min: 4, max: 9, null_count: 2 });
    expect(
      mergeStats(s, [
        { rows: 3, stats: { x: { min: null, max: null, null_count: 0 } } },
        { rows: 3, stats: { x: { min: 4, max: 9, null_count: 0 } } },
      ])[0],
    ).toMatchObject({ min: null, max: null });
  });
});
