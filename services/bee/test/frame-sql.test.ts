import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FrameSqlTaskSpec } from '@apiary/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFrameSql } from '../src/frame-sql.js';
import { useFrameDuckDir, writeParquet } from './helpers/frame-duck.js';

/*
 * The bee's sealed frame database, in-process with real DuckDB: it stays open between tasks
 * (issue 11), so what one task made must not reach the next, and the seal must hold for every task.
 */
describe('frame SQL on the warm sealed database', () => {
  const tmp = useFrameDuckDir('apiary-frame-sql-');
  const rootA = path.join(tmp, 'root-a');
  const rootB = path.join(tmp, 'root-b');
  const scratch = path.join(tmp, 'scratch');
  const outside = path.join(tmp, 'outside.parquet');
  const file = (root: string, name: string) => path.join(root, 'frames', 'f', 'cells', name);
  const o = { memoryLimitBytes: 256 * 2 ** 20, tempDir: scratch };
  const never = new AbortController().signal;
  const run = (s: Omit<FrameSqlTaskSpec, 'kind' | 'allowDirs'> & { allowDirs?: string[] }) => runFrameSql({ kind: 'fsql', allowDirs: [rootA], ...s }, o, never);

  beforeAll(async () => {
    for (const r of [rootA, rootB]) mkdirSync(path.join(r, 'frames', 'f', 'cells'), { recursive: true });
    mkdirSync(scratch);
    await writeParquet({
      [file(rootA, 'one.parquet')]: 'SELECT range AS i FROM range(10)',
      [file(rootA, 'two.parquet')]: 'SELECT range AS i FROM range(10, 15)',
      [file(rootB, 'b.parquet')]: 'SELECT 7 AS i',
      [outside]: 'SELECT 42 AS secret',
    });
  });

  it('a view follows its task: re-made when the files change, gone when a task does not name it', async () => {
    const one = [file(rootA, 'one.parquet')];
    const both = [...one, file(rootA, 'two.parquet')];
    expect((await run({ sql: 'SELECT count(*) AS n FROM a', views: { a: one } })).rows).toEqual([{ n: 10 }]);
    expect((await run({ sql: 'SELECT count(*) AS n FROM a', views: { a: both } })).rows).toEqual([{ n: 15 }]);
    expect((await run({ sql: 'SELECT count(*) AS n FROM a', views: { a: one } })).rows).toEqual([{ n: 10 }]);
    // The next task names only b: a from the task before must not answer.
    await expect(run({ sql: 'SELECT count(*) AS n FROM a', views: { b: one } })).rejects.toMatchObject({
      code: 'SQL_ERROR',
      message: expect.stringMatching(/Table with name a does not exist/),
    });
    await expect(run({ sql: 'SELECT count(*) AS n FROM temp.main.a', views: { b: one } })).rejects.toMatchObject({ code: 'SQL_ERROR' });
  });

  it('stays sealed across tasks: outside the allowed dirs is a permission error, the budget settings hold', async () => {
    const views = { a: [file(rootA, 'one.parquet')] };
    for (let i = 0; i < 2; i++) {
      await expect(run({ sql: `SELECT * FROM a, read_parquet('${outside}')`, views })).rejects.toMatchObject({
        code: 'SQL_ERROR',
        message: expect.stringContaining(`Permission Error: Cannot access file "${outside}"`),
      });
    }
    const s = await run({
      sql: "SELECT current_setting('threads') AS t, current_setting('enable_external_access') AS ext, current_setting('memory_limit') AS m",
      views,
    });
    expect(s.rows).toEqual([{ t: 1, ext: false, m: '256.0 MiB' }]);
  });

  it('another set of allowed dirs gets a database sealed to those dirs only', async () => {
    const b = file(rootB, 'b.parquet');
    expect((await run({ sql: 'SELECT i FROM f', views: { f: [b] }, allowDirs: [rootB] })).rows).toEqual([{ i: 7 }]);
    // rootA was allowed for the earlier tasks; this database never allowed it.
    await expect(run({ sql: `SELECT * FROM f, read_parquet('${file(rootA, 'one.parquet')}')`, views: { f: [b] }, allowDirs: [rootB] })).rejects.toMatchObject({
      message: expect.stringContaining('Permission Error'),
    });
    // And back: rootB is outside again.
    await expect(run({ sql: `SELECT * FROM read_parquet('${b}')`, views: {} })).rejects.toMatchObject({ message: expect.stringContaining('Permission Error') });
  });

  it('writes `into` a file inside the allowed dirs, and an empty frame is a typed empty view', async () => {
    const into = path.join(rootA, 'queries', 'q1', 'partial-0.parquet');
    mkdirSync(path.dirname(into), { recursive: true });
    const r = await run({ sql: 'SELECT sum(i) AS s FROM a', views: { a: [file(rootA, 'one.parquet')] }, into });
    expect(r.rows).toEqual([]);
    expect((await run({ sql: 'SELECT s FROM p', views: { p: [into] } })).rows).toEqual([{ s: 45 }]);
    const empty = await run({ sql: 'SELECT count(*) AS n, sum(x) AS s FROM e', views: { e: [] }, columns: { e: [{ name: 'x', type: 'INTEGER' }] } });
    expect(empty.rows).toEqual([{ n: 0, s: null }]);
  });
});
