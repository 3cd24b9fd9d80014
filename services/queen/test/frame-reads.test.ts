import { describe, expect, it } from 'vitest';
import { FrameCatalog, type NewCell } from '../src/frames/catalog.js';
import { checksumsOf, FrameReads } from '../src/query/frame-reads.js';

const schema = [{ name: 'x', type: 'BIGINT' }];
const cell = (id: string): NewCell => ({
  id,
  path: `frames/f/cells/${id}.parquet`,
  rows: 10,
  bytes: 100,
  sha256: id.repeat(64).slice(0, 64),
  stats: { x: { min: 0, max: 9, null_count: 0 } },
});

describe('frame reads', () => {
  it('derives a version once: the same read for the same snapshot, another after a commit', () => {
    const c = FrameCatalog.memory();
    c.commit({ frame: 'f', mode: 'append', writeId: 'w1', schema, cells: [cell('a'), cell('b')] });
    const reads = new FrameReads('/root');
    const r1 = reads.of('f', c.snapshot('f'));
    expect(reads.of('f', c.snapshot('f'))).toBe(r1);
    expect(r1.info).toEqual({
      name: 'f',
      columns: schema,
      cells: ['a', 'b'].map((id) => ({ path: `/root/frames/f/cells/${id}.parquet`, bytes: 100, rows: 10, stats: { x: { min: 0, max: 9, null_count: 0 } } })),
    });
    c.commit({ frame: 'f', mode: 'append', writeId: 'w2', schema, cells: [cell('c')] });
    const r2 = reads.of('f', c.snapshot('f'));
    expect(r2).not.toBe(r1);
    expect(r2.key).not.toBe(r1.key); // another version plans again
    expect(r2.info.cells).toHaveLength(3);
    c.close();
  });

  it("gives a step the checksums of the files its views read, not the whole frame's", () => {
    const c = FrameCatalog.memory();
    c.commit({ frame: 'f', mode: 'append', writeId: 'w1', schema, cells: [cell('a'), cell('b'), cell('c')] });
    const r = new FrameReads('/root').of('f', c.snapshot('f'));
    const views = { f: ['/root/frames/f/cells/a.parquet', '/root/frames/f/cells/c.parquet'] };
    expect(checksumsOf(views, [r])).toEqual({
      '/root/frames/f/cells/a.parquet': { sha256: 'a'.repeat(64), bytes: 100 },
      '/root/frames/f/cells/c.parquet': { sha256: 'c'.repeat(64), bytes: 100 },
    });
    expect(checksumsOf({ f: [] }, [r])).toEqual({});
    c.close();
  });
});
