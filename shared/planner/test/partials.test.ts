import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withInlinePartials, type InlinePartial } from '../src/index.js';
import { openDuck, type Duck } from './duck.js';

const MERGE = 'SELECT __apiary_k0 AS k, sum(__apiary_p0) AS s FROM partials GROUP BY __apiary_k0 ORDER BY k';
const rows = (...r: (string | null)[][]): InlinePartial => ({
  columns: [
    { name: '__apiary_k0', type: 'VARCHAR' },
    { name: '__apiary_p0', type: 'HUGEINT' },
  ],
  rows: r,
});

/** A merge over inline partials is one statement: the partials are a CTE in front of the merge SQL. */
describe('withInlinePartials', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck.close());
  const run = async (sql: string) => (await duck.conn.runAndReadAll(sql)).getRowObjectsJson();

  it('leaves SQL without inline partials as it is', () => {
    expect(withInlinePartials(MERGE, {}, { partials: ['/d/p.parquet'] })).toBe(MERGE);
  });

  it('puts the inline rows, cast back to their types, in a CTE named after the view', async () => {
    const sql = withInlinePartials(MERGE, { partials: rows(["it's", '170141183460469231731687303715884105727'], ['b', '2'], ["it's", '-1']) }, {});
    expect(sql.startsWith('WITH "partials" AS (SELECT CAST(__v0 AS VARCHAR) AS "__apiary_k0", CAST(__v1 AS HUGEINT) AS "__apiary_p0" FROM (VALUES ')).toBe(
      true,
    );
    expect(sql.endsWith(`) ${MERGE}`)).toBe(true);
    expect(await run(sql)).toEqual([
      { k: 'b', s: '2' },
      { k: "it's", s: '170141183460469231731687303715884105726' },
    ]);
  });

  it('no rows: a typed empty relation, so the merge still binds', async () => {
    const sql = withInlinePartials(MERGE, { partials: rows() }, {});
    expect(await run(sql)).toEqual([]);
    expect((await duck.conn.runAndReadAll(sql)).columnTypes().map(String)).toEqual(['VARCHAR', 'HUGEINT']);
  });

  it("unions the view's Parquet partials with its inline rows, by name", async () => {
    const file = `/tmp/apiary-planner-partials-${process.pid}.parquet`;
    await duck.conn.run(`COPY (SELECT 5::BIGINT AS __apiary_p0, 'b' AS __apiary_k0) TO '${file}' (FORMAT parquet)`);
    try {
      const sql = withInlinePartials(MERGE, { partials: rows(['b', '2'], ['c', null]) }, { partials: [file] });
      expect(sql).toContain(`read_parquet(['${file}'], hive_partitioning = false) UNION ALL BY NAME SELECT CAST(`);
      expect(await run(sql)).toEqual([
        { k: 'b', s: '7' },
        { k: 'c', s: null },
      ]);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('refuses a type whose text may not round-trip', () => {
    expect(() => withInlinePartials(MERGE, { partials: { columns: [{ name: 'l', type: 'INTEGER[]' }], rows: [['[1]']] } }, {})).toThrow(/INTEGER\[\]/);
  });
});
