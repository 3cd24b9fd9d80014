// Names that could be a frame column or a select alias: decomposed only when the declared schema
// settles it (DuckDB prefers the column in GROUP BY/WHERE/HAVING and the alias in ORDER BY).
import { describe, expect, it } from 'vitest';
import type { Duck } from './duck.js';
import type { Fixture } from './data.js';
import { withSalesFixture } from './fixture.js';
import { checkQuery, planFor } from './oracle.js';

type Kind = 'decomposed' | 'whole';
/** [sql, plan kind with declared columns, plan kind without]; the map never sees select aliases. */
const CASES: [string, Kind, Kind][] = [
  ['SELECT g, count(*) AS n FROM sales GROUP BY g HAVING n > 10', 'decomposed', 'whole'],
  ['SELECT g AS k, count(*) AS n FROM sales GROUP BY g ORDER BY k NULLS FIRST', 'decomposed', 'decomposed'],
  ['SELECT g AS grp, count(*) AS n FROM sales GROUP BY grp ORDER BY n DESC, grp', 'decomposed', 'whole'],
  ['SELECT k % 3 AS m, count(*) AS n FROM sales WHERE m = 1 GROUP BY m', 'whole', 'whole'],
  ['SELECT k % 3 AS i, count(*) AS n FROM sales WHERE i > 0 GROUP BY k % 3 ORDER BY i', 'decomposed', 'whole'],
  // (max, not sum: without a schema a sum's type, so its partial, is unknown and it runs whole)
  ['SELECT g, max(x) AS x FROM sales GROUP BY g ORDER BY x DESC', 'decomposed', 'decomposed'],
  ['SELECT g, -sum(i) AS g FROM sales GROUP BY g ORDER BY g', 'decomposed', 'whole'],
  ['SELECT g, count(*) AS n FROM sales GROUP BY g ORDER BY n * 2 DESC, g LIMIT 3', 'decomposed', 'whole'],
  ['SELECT sum(i) AS tot, tot * 2 AS twice FROM sales', 'whole', 'whole'],
];

describe('select aliases and frame columns', () => {
  let duck: Duck;
  let fx: Fixture;
  withSalesFixture((d, f) => {
    duck = d;
    fx = f;
  });

  it.each(CASES)('%s', async (sql, typed, untyped) => {
    expect((await checkQuery(duck.conn, sql, [fx.typed])).kind).toBe(typed);
    expect((await checkQuery(duck.conn, sql, [fx.untyped])).kind).toBe(untyped);
  });

  it('a column that is neither grouped nor aggregated runs whole (and DuckDB reports the error)', async () => {
    const plan = await planFor(duck.conn, 'SELECT g, k, count(*) AS n FROM sales GROUP BY g', [fx.typed]);
    expect(plan.kind === 'whole' && plan.reason).toMatch(/column k is neither/);
  });
});
