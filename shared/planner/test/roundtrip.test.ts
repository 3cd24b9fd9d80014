// The map SQL is the parse tree printed back by DuckDB: exotic WHERE clauses must survive it.
import { describe, expect, it } from 'vitest';
import type { Duck } from './duck.js';
import type { Fixture } from './data.js';
import { withSalesFixture } from './fixture.js';
import { checkQuery } from './oracle.js';

const WHERES = [
  "s LIKE 'item-01%'",
  "s ILIKE 'ITEM-02_5'",
  "s NOT LIKE '%5' ESCAPE '\\'",
  "g IS DISTINCT FROM 'a'",
  "g IN ('b', 'c') OR g IS NULL",
  'k NOT IN (1, 2)',
  "regexp_matches(s, '0[0-4]$')",
  "s SIMILAR TO 'item-0[12].*'",
  'x::DECIMAL(10, 2) > 100.25',
  'TRY_CAST(s AS INTEGER) IS NULL AND -x < -10',
  "ts + INTERVAL 3 HOUR < TIMESTAMP '2024-01-03 00:00:00'",
  "day - DATE '2024-01-01' BETWEEN 5 AND 9",
  'i // 3 = 7 OR i % 5 = 2 OR 2 ** 3 = k',
  "CASE WHEN k > 3 THEN 'hi' ELSE 'lo' END = 'hi'",
  'coalesce(i, 0) + coalesce(k, 0) > 10',
  "[k, 1] = [2, 1] OR {'a': k}.a = 3",
  'list_contains([1, 3, 5], k) AND len(list_filter([i, k], v -> v > 0)) = 2',
  "g = 'it''s' OR s = E'item-0001' OR 'é😀' = s",
  'big > 9223372036854775000 OR big = 9007199254740993',
  'x > 1e2 AND x < 123.456789012345',
];

describe('WHERE clauses survive json_deserialize_sql', () => {
  let duck: Duck;
  let fx: Fixture;
  withSalesFixture((d, f) => {
    duck = d;
    fx = f;
  });

  it.each(WHERES)('WHERE %s', async (where) => {
    const sql = `SELECT g, count(*) AS n, sum(i) AS si, avg(x) AS ax FROM sales WHERE ${where} GROUP BY g`;
    expect((await checkQuery(duck.conn, sql, [fx.typed])).kind).toBe('decomposed');
  });
});
