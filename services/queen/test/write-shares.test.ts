import { describe, expect, it } from 'vitest';
import { filesDoneCounter, writeShares } from '../src/frames/inputs.js';

const MiB = 2 ** 20;
const f = (name: string, mib: number) => ({ path: `/in/${name}`, bytes: mib * MiB });

/*
 * How a write's inputs become tasks: whole files over the bees, except that Parquet with fewer
 * files than bees is split by row groups so that every bee works (issue 11), never into parts
 * smaller than the minimum cell.
 */
describe('writeShares', () => {
  it('one large Parquet file on two bees: two parts of it', () => {
    expect(writeShares([f('a.parquet', 100)], 2, 'parquet', 16 * MiB)).toEqual([
      { inputs: ['/in/a.parquet'], part: { index: 0, of: 2 } },
      { inputs: ['/in/a.parquet'], part: { index: 1, of: 2 } },
    ]);
  });

  it('as many files as bees, or CSV, or JSON: whole files as before', () => {
    const two = [f('a.parquet', 100), f('b.parquet', 1)];
    expect(writeShares(two, 2, 'parquet', 16 * MiB)).toEqual([{ inputs: ['/in/a.parquet'] }, { inputs: ['/in/b.parquet'] }]);
    expect(writeShares([f('a.csv', 100)], 4, 'csv', 16 * MiB)).toEqual([{ inputs: ['/in/a.csv'] }]);
    expect(writeShares([f('a.json', 100)], 4, 'json', 16 * MiB)).toEqual([{ inputs: ['/in/a.json'] }]);
  });

  it('extra parts go to the file with the most bytes per part, never under the minimum cell', () => {
    // 4 bees, 2 files: the 90 MiB file takes both extra parts (the 20 MiB one is under two minimum cells).
    const s = writeShares([f('big.parquet', 90), f('small.parquet', 20)], 4, 'parquet', 16 * MiB);
    expect(s.map((x) => [x.inputs[0], x.part?.index, x.part?.of])).toEqual([
      ['/in/big.parquet', 0, 3],
      ['/in/big.parquet', 1, 3],
      ['/in/big.parquet', 2, 3],
      ['/in/small.parquet', undefined, undefined],
    ]);
    // A file under two minimum cells stays whole, even with bees idle.
    expect(writeShares([f('tiny.parquet', 20)], 8, 'parquet', 16 * MiB)).toEqual([{ inputs: ['/in/tiny.parquet'] }]);
    // 100 MiB with a 16 MiB minimum: at most 6 parts, however many bees.
    expect(writeShares([f('a.parquet', 100)], 32, 'parquet', 16 * MiB)).toHaveLength(6);
  });

  it('progress counts a split file once, when its last part ends, in any order', () => {
    const shares = writeShares([f('big.parquet', 90), f('small.parquet', 20)], 4, 'parquet', 16 * MiB);
    const done = filesDoneCounter(shares);
    expect([2, 3, 0, 1].map((i) => done(i))).toEqual([0, 1, 0, 1]);
  });
});
