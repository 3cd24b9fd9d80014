// Pruning is real (only cells that can match are read) and never wrong (results still equal).
import { describe, expect, it } from 'vitest';
import type { Duck } from './duck.js';
import type { Fixture } from './data.js';
import { withSalesFixture } from './fixture.js';
import { checkQuery } from './oracle.js';
import type { FrameInfo, RenderedPlan } from '../src/index.js';

const ALL = [0, 1, 2, 3, 4, 5]; // cell 6 is empty and always dropped; cell c holds ids 100c..100c+99

/** [WHERE, cells kept with declared columns, cells kept without] */
const CASES: [string, number[], number[]][] = [
  ['id = 150', [1], [1]],
  ['id < 100', [0], [0]],
  ['id <= 100', [0, 1], [0, 1]],
  ['id > 499', [5], [5]],
  ['id >= 500', [5], [5]],
  ['250 > id', [0, 1, 2], [0, 1, 2]],
  ['id BETWEEN 150 AND 250', [1, 2], [1, 2]],
  ['id IN (5, 450)', [0, 4], [0, 4]],
  ['id IN (5, NULL)', [0], [0]],
  ["id < 100 AND g = 'a'", [0], [0]],
  ['id >= 120.5 AND id < 2e2', [1], [1]],
  ['id > -5 AND id <= 0', [0], [0]],
  ['id > -1 AND id < 0', [], []],
  ["ts >= TIMESTAMP '2024-01-21'", [4, 5], ALL], // "…Z" statistics: naive or UTC? only the schema says
  ["ts < '2024-01-05'", [0], ALL], // a text literal is cast to the column's type
  ["ts < '2024-01-05 00:30:00.0000001'", ALL, ALL], // would round when cast to TIMESTAMP
  ["day = DATE '2024-01-10'", [2], [2]],
  ["day >= TIMESTAMP '2024-01-21 12:00'", ALL, ALL], // DATE vs a time of day: not guessed
  ["s = 'item-0150'", [1], ALL],
  ["s >= 'item-0550'", [5], ALL],
  ['i = 5', [0, 1, 2, 3, 5], [0, 1, 2, 3, 5]], // i is all NULL in cell 4
  ['f >= 0.9', [], []], // FLOAT max is 0.8f; everything pruned, one cell kept for the schema
  ['f > 0.8', ALL, ALL], // 0.8 becomes FLOAT 0.8 in DuckDB: too close to call
  ['d < 0', [], []],
  ['id = 150 OR id = 450', ALL, ALL],
  ['NOT (id < 100)', [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]], // the parser folds it into id >= 100
  ['NOT (id < 100 AND id > 5)', ALL, ALL],
  ['id + 0 = 150', ALL, ALL],
  ['big = 9007199254740993', ALL, ALL],
];

function keptCells(plan: RenderedPlan, frame: FrameInfo): number[] {
  const cells = plan.kind === 'decomposed' ? plan.frame : plan.frames[0]!;
  return cells.keptForSchema ? [] : cells.cells.map((c) => frame.cells.indexOf(c));
}

describe('pruning by cell statistics', () => {
  let duck: Duck;
  let fx: Fixture;
  withSalesFixture((d, f) => {
    duck = d;
    fx = f;
  });

  it.each(CASES)('WHERE %s', async (where, typed, untyped) => {
    const sql = `SELECT count(*) AS n, sum(i) AS si, min(ts) AS t0 FROM sales WHERE ${where}`;
    expect(keptCells(await checkQuery(duck.conn, sql, [fx.typed]), fx.typed)).toEqual(typed);
    expect(keptCells(await checkQuery(duck.conn, sql, [fx.untyped]), fx.untyped)).toEqual(untyped);
  });

  it('prunes a whole (non-aggregate) query too, and keeps one cell when all are pruned', async () => {
    const plan = await checkQuery(duck.conn, 'SELECT id, s FROM sales WHERE id > 10000', [fx.typed]);
    expect(plan.kind === 'whole' && plan.frames[0]).toMatchObject({ cellsTotal: 7, pruned: 6, keptForSchema: true });
  });

  it('keeps cells without statistics, and needs the row count to call a column all-NULL', async () => {
    const cells = fx.typed.cells.map((c, i) => (i === 0 ? { path: c.path, bytes: c.bytes } : i === 4 ? { ...c, rows: undefined } : c));
    const frame = { ...fx.typed, cells };
    const plan = await checkQuery(duck.conn, 'SELECT count(*) AS n FROM sales WHERE i = 5 AND id >= 300', [frame]);
    expect(keptCells(plan, frame)).toEqual([0, 3, 4, 5]);
  });

  it('a selective WHERE on a sorted column reads only the matching cells', async () => {
    const sql = 'SELECT g, count(*) AS n, avg(x) AS ax FROM sales WHERE id BETWEEN 310 AND 390 GROUP BY g';
    const plan = await checkQuery(duck.conn, sql, [fx.typed], { bees: 4 });
    expect(plan.kind).toBe('decomposed');
    if (plan.kind !== 'decomposed') return;
    expect(plan.frame).toMatchObject({ cellsTotal: 7, pruned: 6 });
    expect(plan.groups.map((g) => g.cells.map((c) => c.path))).toEqual([[fx.files[3]]]);
  });
});
