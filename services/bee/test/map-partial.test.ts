import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { INLINE_PARTIAL_BYTES, INLINE_PARTIAL_ROWS, type FrameSqlTaskSpec, type InlineRows, type SqlResult } from '@apiary/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFrameSql } from '../src/frame-sql.js';
import { useFrameDuckDir, writeParquet } from './helpers/frame-duck.js';

/*
 * Map partials that travel inline (issue 11), on the bee's real sealed DuckDB: a small partial
 * comes back as text and writes no file, and the merge's view casts it back to the very same
 * values and types; a partial over a limit, or of a type whose text may not round-trip, is a file.
 */
describe('map partials inline or in files', () => {
  const tmp = useFrameDuckDir('apiary-map-partial-');
  const root = path.join(tmp, 'root');
  const cell = path.join(root, 'frames', 'f', 'cells', 'c.parquet');
  const queries = path.join(root, 'queries', 'q');
  const o = { memoryLimitBytes: 256 * 2 ** 20, tempDir: path.join(tmp, 'scratch') };
  const never = new AbortController().signal;
  const max = { rows: INLINE_PARTIAL_ROWS, bytes: INLINE_PARTIAL_BYTES };
  const run = (s: Omit<FrameSqlTaskSpec, 'kind' | 'allowDirs'>) => runFrameSql({ kind: 'fsql', allowDirs: [root], ...s }, o, never);
  const views = { f: [cell] };
  let n = 0;
  const into = () => path.join(queries, `partial-${n++}.parquet`);
  const asInline = (r: SqlResult): InlineRows => ({ columns: r.columns, rows: r.rows.map((row) => r.columns.map((c) => row[c.name] as string | null)) });

  beforeAll(async () => {
    mkdirSync(path.dirname(cell), { recursive: true });
    mkdirSync(queries, { recursive: true });
    mkdirSync(o.tempDir);
    await writeParquet({ [cell]: "SELECT i, i % 7 AS g, 'row ' || i AS s FROM range(5000) t(i)" });
  });

  it('a small partial comes back as text, writes no file, and the merge reads back the same values and types', async () => {
    // Values whose text is easy to get wrong: a double's last digit, decimals past 2^53, a quote, NULL, zones.
    const sql = `SELECT sum(i) / 3.0::DOUBLE AS d, CAST(sum(i) AS DECIMAL(38,0)) * 1000000000000000000000 AS big,
      sum(i)::DECIMAL(18,4) / 7 AS dec, 170141183460469231731687303715884105727::HUGEINT AS h, (0.1::FLOAT) AS fl,
      'it''s "quoted",' || chr(10) || 'two lines' AS txt, NULL::VARCHAR AS nothing, max(i) > 10 AS b,
      DATE '2026-02-28' AS day, TIMESTAMP '2026-01-01 10:11:12.123456' AS ts, TIMESTAMPTZ '2026-01-01 10:00:00+05:30' AS tz,
      INTERVAL 3 DAY + INTERVAL 7 MINUTE AS iv, '0b1d3c7e-2b3a-4a7b-9a5e-0d8c7f6e5a41'::UUID AS u FROM f`;
    const direct = await run({ sql, views });
    // Both ways a bee reads a map: one statement when known small, a temp table otherwise.
    for (const oneStatement of [true, false]) {
      const file = into();
      const r = await run({ sql, views, into: file, inlineMax: { ...max, direct: oneStatement } });
      expect(r.columns.length).toBe(13);
      expect(r.rows).toHaveLength(1);
      expect(existsSync(file)).toBe(false);
      const merged = await run({ sql: 'SELECT * FROM partials', views: { partials: [] }, inline: { partials: asInline(r) } });
      expect(merged.columns).toEqual(direct.columns); // names and DuckDB types
      expect(merged.rows).toEqual(direct.rows);
    }
  });

  it('a direct read (one statement) over the byte limit, or of a type that may not travel as text, goes to its file', async () => {
    for (const sql of [
      `SELECT max(s) || repeat('x', ${INLINE_PARTIAL_BYTES}) AS __apiary_p0 FROM f`,
      'SELECT list(i ORDER BY i)[1:3] AS __apiary_p0, count(*) AS __apiary_p1 FROM f',
    ]) {
      const file = into();
      const r = await run({ sql, views, into: file, inlineMax: { ...max, direct: true } });
      expect(r, sql).toEqual({ kind: 'sql', columns: [], rows: [] });
      expect((await run({ sql: 'SELECT count(*) AS n FROM p', views: { p: [file] } })).rows, sql).toEqual([{ n: 1 }]);
    }
  });

  it('a partial over the row limit, over the byte limit, or of a nested type goes to its file', async () => {
    const overRows = into();
    const r = await run({ sql: `SELECT i AS k, count(*) AS c FROM f WHERE i <= ${INLINE_PARTIAL_ROWS} GROUP BY i`, views, into: overRows, inlineMax: max });
    expect(r).toEqual({ kind: 'sql', columns: [], rows: [] });
    expect((await run({ sql: 'SELECT count(*) AS n FROM p', views: { p: [overRows] } })).rows).toEqual([{ n: INLINE_PARTIAL_ROWS + 1 }]);
    // One row fewer fits.
    const atLimit = await run({ sql: `SELECT i AS k, count(*) AS c FROM f WHERE i < ${INLINE_PARTIAL_ROWS} GROUP BY i`, views, into: into(), inlineMax: max });
    expect(atLimit.rows).toHaveLength(INLINE_PARTIAL_ROWS);
    // Few rows, but more text than the byte limit.
    const wide = into();
    const w = await run({ sql: `SELECT g, repeat('x', ${INLINE_PARTIAL_BYTES}) AS pad FROM f GROUP BY g`, views, into: wide, inlineMax: max });
    expect(w.columns).toEqual([]);
    expect(existsSync(wide)).toBe(true);
    const nested = into();
    const l = await run({ sql: 'SELECT g, list(i ORDER BY i)[1:2] AS first FROM f GROUP BY g', views, into: nested, inlineMax: max });
    expect(l.columns).toEqual([]);
    expect((await run({ sql: 'SELECT count(*) AS n FROM p', views: { p: [nested] } })).rows).toEqual([{ n: 7 }]);
    // Read directly (known small) but big after all, or empty: the map runs again into its file, in
    // a directory the queen did not make (it makes none for a plan whose maps were all inline).
    for (const where of [`i <= ${INLINE_PARTIAL_ROWS}`, 'i < 0']) {
      const again = path.join(root, 'queries', `not-made-${where === 'i < 0' ? 'empty' : 'big'}`, 'partial-0.parquet');
      const d = await run({ sql: `SELECT i AS k, count(*) AS c FROM f WHERE ${where} GROUP BY i`, views, into: again, inlineMax: { ...max, direct: true } });
      expect(d.columns, where).toEqual([]);
      const n = where === 'i < 0' ? 0 : INLINE_PARTIAL_ROWS + 1;
      expect((await run({ sql: 'SELECT count(*) AS n FROM p', views: { p: [again] } })).rows, where).toEqual([{ n }]);
    }
    // Without inlineMax a map step always writes its file.
    const plain = into();
    expect((await run({ sql: 'SELECT count(*) AS c FROM f', views, into: plain })).columns).toEqual([]);
    expect(existsSync(plain)).toBe(true);
  });

  it('a merge over files and inline rows together sees every partial; the map table is gone after the step', async () => {
    const mapSql = 'SELECT g AS __apiary_k0, count_star() AS __apiary_p0, sum(i) AS __apiary_p1 FROM f WHERE i < $LIMIT GROUP BY g';
    const small = await run({ sql: mapSql.replace('$LIMIT', '3000'), views, into: into(), inlineMax: max });
    expect(small.rows).toHaveLength(7);
    const file = into();
    await run({ sql: mapSql.replace('$LIMIT', '5000'), views, into: file }); // a file partial
    const merge = 'SELECT __apiary_k0 AS g, sum(__apiary_p0)::BIGINT AS n, sum(__apiary_p1)::HUGEINT AS s FROM partials GROUP BY __apiary_k0 ORDER BY g';
    const got = await run({ sql: merge, views: { partials: [file] }, inline: { partials: asInline(small) } });
    const want = await run({
      sql: 'SELECT g, sum(n)::BIGINT AS n, sum(s)::HUGEINT AS s FROM (SELECT g, count(*) AS n, sum(i) AS s FROM f WHERE i < 3000 GROUP BY g UNION ALL SELECT g, count(*), sum(i) FROM f GROUP BY g) GROUP BY g ORDER BY g',
      views,
    });
    expect(got.rows).toEqual(want.rows);
    expect(got.rows.reduce((k, r) => k + Number(r.n), 0)).toBe(8000);
    // Inline rows with no file and no rows at all: the view still has the map's columns.
    const none = await run({ sql: mapSql.replace('$LIMIT', '0'), views, into: into(), inlineMax: max });
    expect(none.rows).toEqual([]);
    expect(none.columns.map((c) => c.name)).toEqual(['__apiary_k0', '__apiary_p0', '__apiary_p1']);
    expect((await run({ sql: merge, views: { partials: [] }, inline: { partials: asInline(none) } })).rows).toEqual([]);
    // Neither the step's own table nor a merge's inline rows outlive their task: the next task cannot read another query's partial.
    await expect(run({ sql: 'SELECT * FROM __apiary_map', views })).rejects.toMatchObject({ code: 'SQL_ERROR' });
    await expect(run({ sql: 'SELECT * FROM __apiary_inline_partials', views })).rejects.toMatchObject({ code: 'SQL_ERROR' });
    // A partials view with files only, after one with inline rows, has no inline rows left in it.
    expect((await run({ sql: 'SELECT count(*) AS n FROM partials', views: { partials: [file] }, inline: { partials: asInline(small) } })).rows).toEqual([
      { n: 14 },
    ]);
    expect((await run({ sql: 'SELECT count(*) AS n FROM partials', views: { partials: [file] } })).rows).toEqual([{ n: 7 }]);
    await expect(run({ sql: 'SELECT * FROM __apiary_inline_partials', views: { partials: [file] } })).rejects.toMatchObject({ code: 'SQL_ERROR' });
  });
});
