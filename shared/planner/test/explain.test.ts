// explain(): cells total and pruned per frame, the groups, and the map and merge SQL.
import { describe, expect, it } from 'vitest';
import { serialize, type Duck } from './duck.js';
import type { Fixture } from './data.js';
import { withSalesFixture } from './fixture.js';
import { planFor } from './oracle.js';
import { explain, formatBytes, planQuery } from '../src/index.js';

describe('explain', () => {
  let duck: Duck;
  let fx: Fixture;
  withSalesFixture((d, f) => {
    duck = d;
    fx = f;
  });

  it('shows pruning, groups, map and merge SQL of a decomposed plan', async () => {
    const sql = 'SELECT g, avg(x) AS ax FROM sales WHERE id >= 200 GROUP BY g ORDER BY g';
    const text = explain(await planFor(duck.conn, sql, [fx.typed], { bees: 2, targetBytesPerGroup: 1 << 20 }));
    expect(text).toContain('plan: decomposed over frame sales');
    expect(text).toMatch(/frame sales: 7 cells, 3 pruned, 4 read \([\d.]+ KiB\)/);
    expect(text).toContain('groups: 2');
    expect(text).toContain(`group 0: 2 cells`);
    expect(text).toContain('SELECT g AS __apiary_k0, sum(x) AS __apiary_p0, count(x) AS __apiary_p1 FROM sales WHERE (id >= 200) GROUP BY g');
    expect(text).toContain('FROM partials GROUP BY __apiary_k0 ORDER BY g');
  });

  it('shows the reason, frames and SQL of a whole plan', async () => {
    const sql = 'SELECT median(x) AS m FROM sales WHERE id < 100';
    const text = explain(await planFor(duck.conn, sql, [fx.typed]));
    expect(text).toMatch(/^plan: whole .*function median is not known to be decomposable/);
    expect(text).toContain('frame sales: 7 cells, 6 pruned, 1 read');
    expect(text).toContain(sql);
  });

  it('works before rendering, and says so', async () => {
    const result = planQuery(await serialize(duck.conn, 'SELECT count(*) FROM sales'), [fx.typed], { bees: 1, targetBytesPerGroup: 1 });
    expect(result.ok && explain(result.plan)).toContain('(not rendered: see renderPlan)');
  });

  it('formats sizes', () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(5 * 2 ** 30)]).toEqual(['0 B', '1.5 KiB', '5.0 GiB']);
  });
});
