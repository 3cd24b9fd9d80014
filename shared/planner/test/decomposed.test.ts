// Decomposable aggregates: map per cell group + merge must equal plain DuckDB (rows, names, types).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { Duck } from './duck.js';
import type { Fixture } from './data.js';
import { withSalesFixture } from './fixture.js';
import { checkQuery, runPlan } from './oracle.js';

const QUERIES: string[] = [
  'SELECT count(*) FROM sales',
  'SELECT count(*), count(i), count(x), sum(i), min(i), max(i), avg(i) FROM sales',
  'SELECT sum(x), avg(x), min(x), max(x) FROM sales',
  'SELECT sum(d), avg(d), min(d), max(d), sum(f), avg(f) FROM sales',
  'SELECT sum(big) AS total, min(big), max(big) FROM sales',
  'SELECT g, count(*) AS n FROM sales GROUP BY g',
  'SELECT g, k, count(*), sum(i), avg(x) FROM sales GROUP BY g, k',
  'SELECT g, count(*) FROM sales WHERE id < 250 GROUP BY g',
  'SELECT g, sum(i) AS s FROM sales GROUP BY g HAVING count(*) > 10',
  'SELECT g, avg(x) AS ax FROM sales GROUP BY g ORDER BY g NULLS FIRST',
  'SELECT k, count(*) AS n FROM sales GROUP BY k ORDER BY n DESC, k LIMIT 3',
  'SELECT k % 3 AS m, count(i) FROM sales GROUP BY k % 3 ORDER BY 1',
  'SELECT g, max(ts), min(day), min(s), max(s) FROM sales GROUP BY 1',
  'SELECT count(*), sum(i), avg(x), min(s) FROM sales WHERE id > 100000',
  'SELECT g, count(*) FROM sales WHERE id > 100000 GROUP BY g',
  'SELECT sum(i) / count(*) AS mean_i, max(x) - min(x) AS spread, avg(i) + 1 FROM sales',
  'SELECT g, round(avg(x), 3) AS r, coalesce(sum(i), 0) AS si FROM sales GROUP BY g',
  "SELECT date_trunc('day', ts) AS dd, count(*) AS n FROM sales WHERE ts >= TIMESTAMP '2024-01-05' GROUP BY dd",
  'SELECT count(*) FROM sales WHERE i IS NULL',
  'SELECT count(x), count(*) - count(x) AS nulls FROM sales',
  'SELECT s2.g, count(*) FROM sales AS s2 WHERE s2.id BETWEEN 120 AND 330 GROUP BY s2.g ORDER BY s2.g',
  'SELECT k, sum(x) FROM sales WHERE k IN (1, 3, 5) GROUP BY k HAVING sum(x) > 0 ORDER BY k',
  'SELECT count(*) FROM sales HAVING count(*) > 1000000',
  "SELECT g, count(*) FROM sales WHERE g = 'z' GROUP BY g",
  'SELECT min(i), max(i), count(i), avg(i), sum(i) FROM sales WHERE id >= 400 AND id < 500',
  "SELECT g, count(*) AS n, avg(x) AS ax FROM sales WHERE ts < '2024-01-10' GROUP BY g ORDER BY n DESC LIMIT 2",
  'SELECT k, sum(i) AS total FROM sales GROUP BY k ORDER BY total DESC NULLS LAST, k LIMIT 4 OFFSET 1',
  'SELECT upper(g) AS ug, count(*) FROM sales GROUP BY upper(g) ORDER BY ug NULLS LAST',
  'SELECT g, k FROM sales GROUP BY g, k ORDER BY g, k',
  'SELECT count(*) AS "weird ""name""", sum(i) AS "select" FROM sales',
  'SELECT 42 AS answer, g, count(*) FROM sales GROUP BY g',
  'SELECT avg(i * 2 + 1), sum(CAST(i AS BIGINT)) AS sb, max(x) > 0 AS pos FROM sales',
  "SELECT g, count(*) FROM sales WHERE id = 9999999 OR g = 'a' GROUP BY g",
  'SELECT count(*) AS n, sum(big) AS total FROM sales WHERE big = 9007199254740993',
  'SELECT g, sum(x) AS x FROM sales GROUP BY g ORDER BY x',
  'SELECT G, COUNT(*) FROM Sales GROUP BY g',
  "SELECT g, CASE WHEN count(*) > 100 THEN 'many' ELSE 'few' END AS size FROM sales GROUP BY g",
  'SELECT mean(x) AS m, count() AS c FROM sales WHERE k BETWEEN 2 AND 4',
  'SELECT count(*) AS n, sum(x), avg(i), max(s) FROM sales WHERE i IS NULL AND i > 0',
  'SELECT g, count(*) AS n FROM sales WHERE x IS NULL AND x > 0 GROUP BY g',
  'SELECT k, count(*) AS n FROM sales GROUP BY k ORDER BY k NULLS LAST LIMIT 50%',
  'SELECT count(*) AS n FROM sales GROUP BY ()',
];

describe('decomposed plans equal plain DuckDB', () => {
  let duck: Duck;
  let fx: Fixture;
  // Registered first so that it runs last (after hooks run in reverse): after the fixture's cleanup.
  afterAll(() => {
    expect(existsSync(fx.dir)).toBe(false);
  });
  withSalesFixture((d, f) => {
    duck = d;
    fx = f;
  });

  it.each(QUERIES)('%s', async (sql) => {
    const plan = await checkQuery(duck.conn, sql, [fx.typed]);
    expect(plan.kind, plan.kind === 'whole' ? plan.reason : '').toBe('decomposed');
    if (plan.kind === 'decomposed') expect(plan.groups.length).toBeGreaterThanOrEqual(Math.min(3, plan.frame.cells.length));
  });

  // Without a schema an integral DOUBLE looks like an integer, so a sum's partial type is unknown.
  it.each(QUERIES.slice(0, 12))('without declared columns: %s', async (sql) => {
    const plan = await checkQuery(duck.conn, sql, [fx.untyped]);
    if (/\b(sum|avg)\(/i.test(sql)) expect(plan.kind === 'whole' && plan.reason).toMatch(/numeric type is not known/);
    else expect(plan.kind).toBe('decomposed');
  });

  it.each(QUERIES.slice(0, 16))('several cells per group: %s', async (sql) => {
    const plan = await checkQuery(duck.conn, sql, [fx.typed], { bees: 2, targetBytesPerGroup: 1 << 20 });
    if (plan.kind !== 'decomposed') throw new Error(plan.reason);
    expect(plan.groups).toHaveLength(Math.min(2, plan.frame.cells.length));
    if (plan.frame.cells.length >= 3) expect(Math.max(...plan.groups.map((g) => g.cells.length))).toBeGreaterThan(1);
  });

  it.each([
    ['SELECT count(*) AS n, sum(i) AS s, avg(x) AS a FROM sales', 1],
    ['SELECT g, count(*) AS n FROM sales GROUP BY g', 0],
  ])('a frame without cells: %s', async (sql, rows) => {
    const empty = { ...fx.typed, cells: [] };
    const plan = await checkQuery(duck.conn, sql, [empty]);
    expect(plan.kind === 'decomposed' && plan.groups).toEqual([{ index: 0, cells: [], bytes: 0 }]);
    const result = await runPlan(duck.conn, plan, [empty]);
    expect(result.rows).toHaveLength(rows);
  });
});
