// Whole plans: anything not provably decomposable runs as written on one bee, each frame a view
// over its pruned cells; the result must still equal plain DuckDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, type Duck } from './duck.js';
import { makeRegions, makeSales, type Fixture } from './data.js';
import { checkQuery } from './oracle.js';
import type { FrameInfo } from '../src/index.js';

/** [sql, cells read from sales (7 in all, one empty), or null to skip that check] */
const WHOLE: [string, number | null][] = [
  ['SELECT count(DISTINCT g) AS n FROM sales', 6],
  ['SELECT median(x) FROM sales', 6],
  ['SELECT g, quantile_cont(x, 0.5) AS q FROM sales GROUP BY g', 6],
  ['SELECT id, sum(i) OVER (ORDER BY id) AS run FROM sales WHERE id < 50 ORDER BY id', 1],
  ['SELECT a.g, count(*) AS n FROM sales a JOIN sales b ON a.id = b.id + 1 WHERE a.id < 300 GROUP BY a.g', 6],
  ['SELECT g, count(*) AS n FROM sales WHERE i > (SELECT avg(i) FROM sales) GROUP BY g', 6],
  ['SELECT * FROM sales WHERE id BETWEEN 150 AND 160', 1],
  ['SELECT DISTINCT g FROM sales', 6],
  ['SELECT g, sum(i) FILTER (WHERE k > 2) AS s FROM sales GROUP BY g', 6],
  ['SELECT g, count(*) AS n FROM sales GROUP BY ROLLUP(g)', 6],
  ['WITH c AS (SELECT * FROM sales WHERE id < 200) SELECT count(*) AS n FROM c', 2],
  ['SELECT g, count(*) AS n FROM sales GROUP BY ALL', 6],
  ['SELECT count(*) AS n FROM (SELECT g FROM sales WHERE id >= 500)', 1],
  ['SELECT g, sum(x)::DOUBLE FROM sales GROUP BY g', 6],
  ["SELECT g, string_agg(s, ',' ORDER BY s) AS items FROM sales WHERE id < 30 GROUP BY g", 1],
  ['SELECT avg(ts) AS mid FROM sales', 6],
  ['SELECT count(*) AS n FROM sales UNION ALL SELECT count(*) FROM sales WHERE id < 100', 6],
  ['SELECT 1 + 1 AS two', null],
  ['SELECT r.region, count(*) AS n FROM sales s JOIN regions r USING (g) GROUP BY r.region', 6],
  ['SELECT g, bool_and(i > 0) AS all_pos FROM sales GROUP BY g', 6],
  ['SELECT g, count(*) AS n FROM sales GROUP BY g QUALIFY rank() OVER (ORDER BY count(*) DESC) <= 2', 6],
  ['SELECT count(*) AS n FROM sales WHERE id IN (SELECT id FROM sales WHERE id < 10)', 6],
  ['SELECT g, count(*) AS n FROM sales WHERE id < 100 GROUP BY g ORDER BY random() LIMIT 0', 1],
  ['SELECT count(*) AS n FROM sales GROUP BY 1.5', 6],
  ["SELECT min(s COLLATE nocase) AS m, count(*) AS n FROM sales WHERE s COLLATE nocase >= 'ITEM-0590'", 6],
];

describe('whole plans equal plain DuckDB', () => {
  let duck: Duck;
  let fx: Fixture;
  let regions: FrameInfo;
  beforeAll(async () => {
    duck = await openDuck();
    fx = await makeSales(duck.conn);
    regions = await makeRegions(duck.conn, fx.dir);
  });
  afterAll(() => {
    fx.cleanup();
    duck.close();
  });

  it.each(WHOLE)('%s', async (sql, cells) => {
    const plan = await checkQuery(duck.conn, sql, [fx.typed, regions]);
    expect(plan.kind).toBe('whole');
    if (plan.kind !== 'whole') return;
    expect(plan.reason).not.toBe('');
    if (cells !== null) expect(plan.frames.find((f) => f.frame === 'sales')?.cells.length).toBe(cells);
  });

  it('a table function is not a frame', async () => {
    const sql = `SELECT count(*) AS n FROM read_parquet('${fx.files[0]}')`;
    const plan = await checkQuery(duck.conn, sql, [fx.typed]);
    expect(plan.kind === 'whole' && plan.frames).toEqual([]);
  });

  it('GROUP BY a select alias needs declared columns to tell it from a column', async () => {
    const sql = 'SELECT k % 3 AS m, count(*) AS n FROM sales GROUP BY m';
    const untyped = await checkQuery(duck.conn, sql, [fx.untyped]);
    expect(untyped.kind === 'whole' && untyped.reason).toMatch(/alias/);
    expect((await checkQuery(duck.conn, sql, [fx.typed])).kind).toBe('decomposed');
  });

  it('renders the whole query from the parse tree when the SQL text is not given', async () => {
    const sql = 'SELECT g, median(x) AS m FROM sales WHERE id >= 300 GROUP BY g';
    const plan = await checkQuery(duck.conn, sql, [fx.typed], { sql: undefined });
    expect(plan.kind === 'whole' && plan.sql).toBe('SELECT g, median(x) AS m FROM sales WHERE (id >= 300) GROUP BY g');
  });
});
