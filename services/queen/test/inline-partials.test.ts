import { describe, expect, it } from 'vitest';
import type { RenderedPlan } from '@apiary/planner';
import { INLINE_PARTIAL_BYTES, INLINE_PARTIAL_ROWS, type TaskValue } from '@apiary/protocol';
import { cameInline, inlineMaxFor, splitPartials } from '../src/query/inline-partials.js';

/*
 * How the queen asks map steps for their partials and sorts what came back (issue 11). The bee
 * side, on real DuckDB, is services/bee/test/map-partial.test.ts; the whole path e2e/query.test.ts.
 */
const decomposed = (mapKeys: number) => ({ kind: 'decomposed', mapKeys }) as unknown as RenderedPlan;
const limits = { rows: INLINE_PARTIAL_ROWS, bytes: INLINE_PARTIAL_BYTES };
const cols = [
  { name: '__apiary_k0', type: 'VARCHAR' },
  { name: '__apiary_p0', type: 'BIGINT' },
];
const inline = (rows: [string, string][]): TaskValue => ({ kind: 'sql', columns: cols, rows: rows.map(([k, p]) => ({ __apiary_k0: k, __apiary_p0: p })) });
const file: TaskValue = { kind: 'sql', columns: [], rows: [] };

describe('inline partials in the queen', () => {
  it('asks a map step by what its group did when the same plan last ran', () => {
    // First run of a keyed plan: unknown, the bee holds the rows in a temp table.
    expect(inlineMaxFor(decomposed(1), undefined, 0)).toEqual(limits);
    // No GROUP BY: one row, read directly.
    expect(inlineMaxFor(decomposed(0), undefined, 0)).toEqual({ ...limits, direct: true });
    // Known small: read directly; known big: straight to the file, no inline attempt.
    expect(inlineMaxFor(decomposed(2), [true, false], 0)).toEqual({ ...limits, direct: true });
    expect(inlineMaxFor(decomposed(2), [true, false], 1)).toBeUndefined();
    expect(inlineMaxFor(decomposed(0), [false], 0)).toBeUndefined();
  });

  it('sorts map outputs into file partials and one list of inline rows, in column order', () => {
    const paths = ['/q/partial-0.parquet', '/q/partial-1.parquet', '/q/partial-2.parquet'];
    const outputs = [
      inline([['a', '1']]),
      file,
      inline([
        ['b', '2'],
        ['a', '3'],
      ]),
    ];
    expect(cameInline(outputs)).toEqual([true, false, true]);
    expect(splitPartials(outputs, paths)).toEqual({
      files: ['/q/partial-1.parquet'],
      inline: {
        columns: cols,
        rows: [
          ['a', '1'],
          ['b', '2'],
          ['a', '3'],
        ],
      },
    });
    expect(splitPartials([file, file], paths.slice(0, 2))).toEqual({ files: paths.slice(0, 2), inline: null });
    // An empty inline partial still names its columns (the merge's view needs their types).
    expect(splitPartials([inline([])], paths.slice(0, 1))).toEqual({ files: [], inline: { columns: cols, rows: [] } });
  });

  it('refuses map steps that disagree on their columns, or a result that is not rows', () => {
    const other: TaskValue = { kind: 'sql', columns: [{ name: '__apiary_k0', type: 'INTEGER' }], rows: [{ __apiary_k0: '1' }] };
    expect(() => splitPartials([inline([['a', '1']]), other], ['/a', '/b'])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => splitPartials([{ kind: 'js', value: 1 }], ['/a'])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
