import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { waitFor } from './helpers/procs.js';
import { useTempDir } from './helpers/temp-dirs.js';
import Database from 'better-sqlite3';
import { rowsOf } from '../services/bee/src/json-safe.js';
import { INLINE_PARTIAL_ROWS } from '@apiary/protocol';

/*
 * SQL over frames through the whole system (queen plans on a bee, bees map, one bee merges),
 * checked against plain DuckDB over the very same cell files.
 */
const DAEMON_ARGS = ['--bees', '2', '--memory-per-bee', '256MiB', '--cell-bytes', '64KiB', '--min-cell-bytes', '16KiB'];

const QUERIES: [string, boolean][] = [
  // [sql, ordered]
  ['SELECT count(*) FROM sales', true],
  ['SELECT count(*) AS n, sum(amount) AS s, min(amount) AS lo, max(amount) AS hi, avg(amount) AS a FROM sales', true],
  ['SELECT region, count(*) AS n, sum(amount) AS s FROM sales GROUP BY region', false],
  ['SELECT region, avg(amount) AS a, count(note) AS notes FROM sales GROUP BY region ORDER BY region', true],
  ['SELECT day, sum(qty) FROM sales WHERE id BETWEEN 1000 AND 20000 GROUP BY day ORDER BY day LIMIT 5', true],
  ["SELECT region, sum(qty) AS q FROM sales WHERE region IN ('north', 'east') GROUP BY region HAVING sum(qty) > 10 ORDER BY q DESC", true],
  ['SELECT count(*), sum(amount) FROM sales WHERE id < 0', true],
  ['SELECT region, count(*) FROM sales WHERE id > 999999999 GROUP BY region', false],
  ["SELECT max(ts), min(ts) FROM sales WHERE ts >= TIMESTAMP '2026-03-01'", true],
  ['SELECT qty % 3 AS k, count(*), avg(qty) FROM sales GROUP BY qty % 3', false],
  ['SELECT count(DISTINCT region) FROM sales', true],
  ['SELECT median(amount) FROM sales WHERE id < 5000', true],
  ['SELECT region, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC, id) AS r FROM sales WHERE id < 300 ORDER BY region, r LIMIT 20', true],
  ['SELECT a.region, count(*) FROM sales a JOIN sales b ON a.id = b.id + 1 WHERE a.id < 2000 GROUP BY a.region', false],
  ['SELECT * FROM sales WHERE id IN (5, 500, 5000) ORDER BY id', true],
];

function close(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameRows(got: Record<string, unknown>[], want: Record<string, unknown>[], ordered: boolean): boolean {
  const norm = (rows: Record<string, unknown>[]) => rows.map((r) => Object.values(r));
  const key = (r: unknown[]) => JSON.stringify(r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)));
  const g = norm(got);
  const w = norm(want);
  if (!ordered) {
    g.sort((x, y) => key(x).localeCompare(key(y)));
    w.sort((x, y) => key(x).localeCompare(key(y)));
  }
  return g.length === w.length && g.every((r, i) => r.length === w[i]!.length && r.every((v, j) => close(v, w[i]![j])));
}

/** A frame `sales` of 60,000 generated rows, written through the keeper; answers its cell files. */
async function writeSales(d: TestDaemon, dir: string): Promise<string[]> {
  const src = path.join(dir, 'sales.parquet');
  const gen = await keeper(
    [
      'sql',
      `COPY (SELECT i AS id, ['north','south','east','west'][(hash(i) % 4)::INT + 1] AS region,
      round((hash(i * 7) % 100000) / 100.0, 2)::DOUBLE AS amount, (hash(i * 3) % 20)::INT AS qty,
      CASE WHEN i % 13 = 0 THEN NULL ELSE 'n' || (i % 5) END AS note,
      DATE '2026-01-01' + (i // 500)::INT AS day, TIMESTAMP '2026-01-01' + to_minutes(i) AS ts
      FROM range(60000) t(i) ORDER BY i) TO '${src}' (FORMAT parquet)`,
    ],
    d.home,
  );
  expect(gen.exitCode, gen.stderr).toBe(0);
  const w = await keeper(['write', 'sales', src, '--json'], d.home);
  expect(w.exitCode, w.stderr).toBe(0);
  expect(JSON.parse(w.stdout).cells_written).toBeGreaterThan(4);
  const detail = await d.client.frame('sales');
  return detail.cellList.map((c) => path.join(detail.dataRoot, c.path));
}

/** Plain DuckDB with a view `sales` over the very same cell files. */
async function salesOracle(files: string[]): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`CREATE VIEW sales AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`);
  return {
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Every query of QUERIES through the colony equals the oracle: names, DuckDB types and rows. */
async function expectAllLikeOracle(d: TestDaemon, oracle: DuckDBConnection): Promise<void> {
  for (const [sql, ordered] of QUERIES) {
    const got = await d.client.sql(sql);
    const want = rowsOf(await oracle.runAndReadAll(sql));
    expect(got.columns, sql).toEqual(want.columns);
    expect(sameRows(got.rows, want.rows, ordered), `${sql}: ${JSON.stringify(got.rows.slice(0, 3))} vs ${JSON.stringify(want.rows.slice(0, 3))}`).toBe(true);
  }
}

/** Task specs as the queen recorded them in its ledger (the HTTP view of a task has no spec). */
async function ledgerSpecs(home: string, ids: string[]): Promise<{ id: string; spec: Record<string, unknown> }[]> {
  return waitFor(
    () => {
      const db = new Database(path.join(home, 'queen.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare(`SELECT id, spec FROM tasks WHERE id IN (${ids.map(() => '?').join(', ')})`).all(...ids) as { id: string; spec: string }[];
        if (rows.length < ids.length) return undefined; // the ledger writes behind; look again
        const byId = new Map(rows.map((r) => [r.id, JSON.parse(r.spec) as Record<string, unknown>]));
        return ids.map((id) => ({ id, spec: byId.get(id)! }));
      } finally {
        db.close();
      }
    },
    5000,
    'the query tasks in the ledger',
  );
}

describe('SQL over frames equals plain DuckDB', () => {
  let d: TestDaemon;
  let oracle: DuckDBConnection;
  let closeOracle: (() => void) | undefined;
  const tmp = useTempDir('apiary-query-');

  beforeAll(async () => {
    d = await TestDaemon.start(DAEMON_ARGS);
    d.startHive('second'); // map work spreads over two hives

    await d.waitHives(2);
    const o = await salesOracle(await writeSales(d, tmp()));
    oracle = o.conn;
    closeOracle = o.close;
  }, 120_000);

  afterAll(async () => {
    closeOracle?.();
    await d?.stop();
  });

  // The oracle's result rendered as the protocol renders rows (specs/protocol.md), so values
  // compare as values, and its column names and DuckDB types, which an empty result has too.
  const both = async (sql: string) => ({ got: await d.client.sql(sql), want: rowsOf(await oracle.runAndReadAll(sql)) });
  for (const [sql, ordered] of QUERIES) {
    it(sql, async () => {
      const { got, want } = await both(sql);
      expect(got.columns).toEqual(want.columns); // names and DuckDB types
      expect(sameRows(got.rows, want.rows, ordered), `${JSON.stringify(got.rows.slice(0, 3))} vs ${JSON.stringify(want.rows.slice(0, 3))}`).toBe(true);
    });
  }

  it('a decomposed query runs its map tasks on both hives', async () => {
    const hives = (await d.client.colony()).hives.map((h) => h.id);
    expect(hives).toHaveLength(2);
    const r = await d.client.sql('SELECT region, count(*) AS n FROM sales GROUP BY region');
    expect(r.explain).toMatch(/plan: decomposed/);
    const views = await Promise.all(r.tasks.map((id) => d.client.get(id)));
    // (a plan task unless the plan was cached), one map task per group, then the merge
    const maps = views.filter((t) => t.kind === 'fsql').slice(0, -1);
    expect(maps.length).toBe(Number(/groups: (\d+)/.exec(r.explain ?? '')?.[1]));
    for (const t of maps) expect(t.state).toBe('succeeded');
    const ranOn = new Set(maps.map((t) => t.attempts.at(-1)!.hive));
    expect([...ranOn].sort()).toEqual([...hives].sort());
  });

  it('small map partials travel inline, partials over the limit through files, and both answer as DuckDB does', async () => {
    type Spec = {
      kind: string;
      views?: Record<string, string[]>;
      inline?: Record<string, { columns: unknown[]; rows: unknown[][] }>;
      inlineMax?: { direct?: boolean };
    };
    /** The query through the colony equals the oracle; returns its map and merge specs as the ledger holds them. */
    const steps = async (sql: string) => {
      const got = await d.client.sql(sql);
      const want = rowsOf(await oracle.runAndReadAll(sql));
      expect(got.columns, sql).toEqual(want.columns);
      expect(sameRows(got.rows, want.rows, true), `${sql}: ${JSON.stringify(got.rows.slice(0, 3))} vs ${JSON.stringify(want.rows.slice(0, 3))}`).toBe(true);
      const groups = Number(/groups: (\d+)/.exec(got.explain ?? '')?.[1]);
      expect(groups, `${sql} needs a merge: ${got.explain}`).toBeGreaterThan(1);
      const specs = (await ledgerSpecs(d.home, got.tasks)).map((t) => t.spec as Spec);
      const maps = specs.filter((x) => x.kind === 'fsql' && x.views?.sales);
      const merge = specs.find((x) => x.kind === 'fsql' && x.views?.partials);
      expect(maps).toHaveLength(groups);
      expect(merge, sql).toBeDefined();
      return { files: merge!.views!.partials!, inline: merge!.inline?.partials?.rows ?? [], maps: maps.length, how: maps.map((m) => m.inlineMax) };
    };
    // One row per map step (a Q6 shape): every partial inline, no file.
    const q6 = await steps("SELECT sum(amount * qty) AS revenue, count(*) AS n FROM sales WHERE day >= DATE '2026-01-10' AND qty < 10");
    expect(q6.files).toEqual([]);
    expect(q6.inline).toHaveLength(q6.maps);
    expect(q6.how.every((m) => m?.direct === true)).toBe(true); // one row: read in one statement
    // Each map step sees thousands of ids (cells hold more than INLINE_PARTIAL_ROWS rows): every partial is a file.
    const wide = await steps('SELECT id % 30000 AS k, count(*) AS n, sum(qty) AS q FROM sales GROUP BY k ORDER BY n DESC, k LIMIT 7');
    expect(wide.files).toHaveLength(wide.maps);
    expect(wide.inline).toEqual([]);
    // Run again over the same cells (cached plan): known big, the map steps go straight to their files.
    const again = await steps('SELECT id % 30000 AS k, count(*) AS n, sum(qty) AS q FROM sales GROUP BY k ORDER BY n DESC, k LIMIT 7');
    expect(again.files).toHaveLength(again.maps);
    expect(again.how).toEqual(again.how.map(() => undefined));
    // Only the step over the first ids has more than INLINE_PARTIAL_ROWS keys: files and inline rows in one merge.
    const mixed = await steps(`SELECT CASE WHEN id < ${INLINE_PARTIAL_ROWS * 3} THEN id ELSE -1 END AS k, count(*) AS n FROM sales GROUP BY k ORDER BY k`);
    expect(mixed.files.length).toBeGreaterThanOrEqual(1);
    expect(mixed.inline.length).toBeGreaterThanOrEqual(1);
    expect(mixed.files.length).toBeLessThan(mixed.maps);
    // And again: each step as it went before, the small ones read directly; the same answer.
    const mixedAgain = await steps(`SELECT CASE WHEN id < ${INLINE_PARTIAL_ROWS * 3} THEN id ELSE -1 END AS k, count(*) AS n FROM sales GROUP BY k ORDER BY k`);
    expect(mixedAgain.files).toEqual(mixed.files.map(() => expect.any(String)));
    expect(mixedAgain.inline).toHaveLength(mixed.inline.length);
    expect(mixedAgain.how.filter((m) => m?.direct === true)).toHaveLength(mixed.maps - mixed.files.length);
  });

  it('prunes cells by statistics: a selective WHERE on the sorted id reads only matching cells', async () => {
    const plan = await d.client.sql('SELECT count(*) FROM sales WHERE id BETWEEN 100 AND 200', { explain: true });
    const m = /frame sales: (\d+) cells, (\d+) pruned, (\d+) read/.exec(plan.explain ?? '');
    expect(m, plan.explain ?? '').toBeTruthy();
    expect(Number(m![3])).toBe(1);
    expect(Number(m![2])).toBe(Number(m![1]) - 1);
    expect(plan.explain).toMatch(/plan: decomposed/);
    const r = await d.client.sql('SELECT count(*) AS n FROM sales WHERE id BETWEEN 100 AND 200');
    expect(r.rows).toEqual([{ n: 101 }]);
    // What the bees were handed: the map tasks' specs, as the queen recorded them in its ledger.
    const detail = await d.client.frame('sales');
    const stats = (c: (typeof detail.cellList)[number]) => (c.stats as Record<string, { min: unknown; max: unknown }>).id!;
    const matching = detail.cellList.filter((c) => Number(stats(c).min) <= 200 && Number(stats(c).max) >= 100).map((c) => path.join(detail.dataRoot, c.path));
    expect(matching).toHaveLength(1);
    const specs = (await ledgerSpecs(d.home, r.tasks)).map((t) => t.spec as { kind: string; views?: Record<string, string[]> });
    const opened = specs.filter((x) => x.kind === 'fsql' && x.views?.sales).flatMap((x) => x.views!.sales!);
    expect(opened).toEqual(matching);
    // (and there were other cells to skip)
    expect(detail.cellList.length).toBeGreaterThan(1);
  });

  it('a repeated query reuses its plan (no plan task); a new version of the frame is planned again', async () => {
    const src = path.join(tmp(), 'planned.parquet');
    const gen = await keeper(['sql', `COPY (SELECT i, i % 3 AS g FROM range(3000) t(i)) TO '${src}' (FORMAT parquet)`], d.home);
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect((await keeper(['write', 'planned', src], d.home)).exitCode).toBe(0);
    const sql = 'SELECT g, count(*) AS n FROM planned GROUP BY g ORDER BY g';
    const kinds = async (ids: string[]) => Promise.all(ids.map(async (id) => (await d.client.get(id)).kind));
    const first = await d.client.sql(sql);
    expect(first.rows).toEqual([0, 1, 2].map((g) => ({ g, n: 1000 })));
    expect((await kinds(first.tasks))[0]).toBe('plan');
    const again = await d.client.sql(sql);
    expect(again.rows).toEqual(first.rows);
    expect(again.explain).toBe(first.explain);
    expect(await kinds(again.tasks)).not.toContain('plan');
    // An append is a new catalog: the cached plan (over the old cells) must not answer.
    expect((await keeper(['write', 'planned', src, '--mode', 'append'], d.home)).exitCode).toBe(0);
    const after = await d.client.sql(sql);
    expect(after.rows).toEqual([0, 1, 2].map((g) => ({ g, n: 2000 })));
    expect((await kinds(after.tasks))[0]).toBe('plan');
    // explain always plans on a bee, even when the plan is cached.
    const ex = await d.client.sql(sql, { explain: true });
    expect(await kinds(ex.tasks)).toEqual(['plan']);
  });

  it('explains a query that cannot be split as a whole-query plan', async () => {
    const r = await keeper(['sql', '--explain', 'SELECT count(DISTINCT region) FROM sales'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plan: whole/);
  });

  it('--into FRAME writes a result to a new frame, which is then queryable', async () => {
    const r = await keeper(['sql', '--into', 'by_region', 'SELECT region, count(*) AS n, sum(amount) AS s FROM sales GROUP BY region'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frame: 'by_region', version: 1, rows_written: 4 });
    const back = await d.client.sql('SELECT sum(n) AS n FROM by_region');
    expect(back.rows).toEqual([{ n: 60000 }]);
    // a trailing semicolon and comment do not break the wrapping
    const again = await keeper(['sql', '--into', 'distinct_regions', 'SELECT count(DISTINCT region) AS d FROM sales; -- how many'], d.home);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await d.client.sql('SELECT d FROM distinct_regions')).rows).toEqual([{ d: 4 }]);
  });

  it('an empty frame answers like an empty table', async () => {
    const src = path.join(tmp(), 'empty.parquet');
    const gen = await keeper(['sql', `COPY (SELECT 1::INTEGER AS a, 'x' AS b WHERE false) TO '${src}' (FORMAT parquet)`], d.home);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const w = await keeper(['write', 'nothing', src, '--json'], d.home);
    expect(w.exitCode, w.stderr).toBe(0);
    expect((await d.client.sql('SELECT count(*) AS n, sum(a) AS s FROM nothing')).rows).toEqual([{ n: 0, s: null }]);
    expect((await d.client.sql('SELECT b, count(*) FROM nothing GROUP BY b')).rows).toEqual([]);
  });

  it('plain SQL that merely mentions a frame name is not frame SQL (it may read any file)', async () => {
    const csv = path.join(tmp(), 'sales.csv');
    const gen = await keeper(['sql', `COPY (SELECT 1 AS x) TO '${csv}' (FORMAT csv)`], d.home);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const r = await d.client.sql(`SELECT x, 'sales' AS label FROM read_csv('${csv}')`);
    expect(r.rows).toEqual([{ x: 1, label: 'sales' }]);
  });

  it('frame SQL is read-only and cannot read outside the data root', async () => {
    for (const sql of ['DROP TABLE sales', "COPY sales TO '/tmp/x.parquet'", 'INSERT INTO sales SELECT * FROM sales']) {
      const r = await keeper(['sql', sql], d.home);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/SQL_READ_ONLY/);
    }
    const p = await keeper(['sql', "SELECT count(*) FROM sales, read_csv('/etc/passwd')"], d.home);
    expect(p.exitCode).toBe(1);
    expect(p.stderr).toMatch(/SQL_ERROR.*Permission Error.*\/etc\/passwd/s);
  });

  it('frame SQL cannot read outside the data root with any reader, nor attach or copy out', async () => {
    const outside = path.join(tmp(), 'outside.parquet');
    const gen = await keeper(['sql', `COPY (SELECT 42 AS secret) TO '${outside}' (FORMAT parquet)`], d.home);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const { dataRoot } = await d.client.frame('sales');
    const token = path.join(d.home, 'tokens', 'client.token');
    const reads: [string, string][] = [
      [`SELECT count(*) AS n, any_value(content) AS c FROM sales, read_text('${token}')`, token],
      [`SELECT count(*) AS n, any_value(content) AS c FROM sales, read_blob('/etc/passwd')`, '/etc/passwd'],
      [`SELECT count(*) AS n, any_value(file) AS c FROM sales, glob('${d.home}/tokens/*')`, `${d.home}/tokens/*`],
      [`SELECT count(*) AS n, any_value(secret) AS c FROM sales, read_parquet('${outside}')`, outside],
      // '..' out of the data root is outside too
      [`SELECT count(*) AS n, any_value(content) AS c FROM sales, read_text('${dataRoot}/../tokens/client.token')`, `${dataRoot}/../tokens/client.token`],
    ];
    for (const [sql, file] of reads) {
      const r = await fetch(`${d.url}/v1/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      const body = (await r.json()) as { code: string; message: string; rows?: unknown };
      expect(r.status, sql).toBe(400);
      expect(body.code, sql).toBe('SQL_ERROR');
      expect(body.message, sql).toContain(`Permission Error: Cannot access file "${file}"`);
      expect(body.rows).toBeUndefined();
      expect(JSON.stringify(body)).not.toContain(d.token('client'));
    }
    const attached = path.join(tmp(), 'attached.duckdb');
    const copied = path.join(tmp(), 'copied.csv');
    // Each names the frame in its code, so it is frame SQL (plain SQL runs unconfined, by design).
    for (const sql of [
      `ATTACH '${attached}' AS other; SELECT count(*) FROM sales`,
      `ATTACH '${attached}' AS sales`,
      `COPY (SELECT * FROM sales) TO '${copied}' (FORMAT csv)`,
      `COPY sales TO '${copied}'`,
    ]) {
      const r = await keeper(['sql', sql], d.home);
      expect(r.exitCode, sql).toBe(1);
      expect(r.stderr, sql).toMatch(/SQL_READ_ONLY/);
    }
    expect(existsSync(attached)).toBe(false);
    expect(existsSync(copied)).toBe(false);
  });
});

describe('SQL over frames on one hive equals plain DuckDB', () => {
  let d: TestDaemon;
  let oracle: { conn: DuckDBConnection; close(): void } | undefined;
  const tmp = useTempDir('apiary-query-one-');

  beforeAll(async () => {
    d = await TestDaemon.start(DAEMON_ARGS);
    await d.waitHives(1);
    oracle = await salesOracle(await writeSales(d, tmp()));
  }, 120_000);

  afterAll(async () => {
    oracle?.close();
    await d?.stop();
  });

  it('answers every oracle query alike, twice (the second time from cached plans and warm bees)', async () => {
    expect((await d.client.colony()).hives).toHaveLength(1);
    await expectAllLikeOracle(d, oracle!.conn);
    await expectAllLikeOracle(d, oracle!.conn);
  });
});

describe('a hive on another machine fetches cells over HTTP', () => {
  let d: TestDaemon;
  let oracle: { conn: DuckDBConnection; close(): void } | undefined;
  const tmp = useTempDir('apiary-remote-');

  beforeAll(async () => {
    d = await TestDaemon.start(DAEMON_ARGS);
    await d.waitHives(1);
    const src = path.join(tmp(), 'nums.parquet');
    const gen = await keeper(['sql', `COPY (SELECT i, i % 10 AS g FROM range(50000) t(i)) TO '${src}' (FORMAT parquet)`], d.home);
    expect(gen.exitCode, gen.stderr).toBe(0);
    // Writes run where the queen's files are: on its local hive.
    const w = await keeper(['write', 'nums', src, '--json'], d.home);
    expect(w.exitCode, w.stderr).toBe(0);
    oracle = await salesOracle(await writeSales(d, tmp()));
    // Then the queen comes back without a local hive, and the only hive fetches cells (forced, as on
    // another machine): the frames are in the daemon's catalog and data root.
    d.queen!.kill('SIGTERM');
    await new Promise((r) => d.queen!.once('exit', r));
    (d.args as string[]).push('--no-local-hive');
    await d.startQueen();
    d.startHive('faraway', ['--fetch-cells', 'always', '--cell-cache', '64MiB']);
    await d.waitHives(1);
  }, 180_000);

  afterAll(async () => {
    oracle?.close();
    await d?.stop();
  });

  it('answers every oracle query alike', async () => {
    expect((await d.client.colony()).hives.map((h) => h.resources.name)).toEqual(['faraway']);
    await expectAllLikeOracle(d, oracle!.conn);
  });

  it('a merge checks each map partial it fetches against the sha256 the queen took of it', async () => {
    // Thousands of keys per map step: over INLINE_PARTIAL_ROWS, so every partial is a file.
    const r = await d.client.sql('SELECT i // 2 AS k, sum(i) AS s FROM nums GROUP BY k ORDER BY k LIMIT 3');
    expect(r.rows).toEqual([0, 1, 2].map((k) => ({ k, s: 4 * k + 1 })));
    const specs = (await ledgerSpecs(d.home, r.tasks)).map(
      (t) => t.spec as { kind: string; views?: Record<string, string[]>; cells?: Record<string, { sha256: string }> },
    );
    const merge = specs.find((x) => x.kind === 'fsql' && x.views?.partials);
    expect(merge, 'a decomposed plan with a merge').toBeDefined();
    const partials = merge!.views!.partials!;
    expect(partials.length).toBeGreaterThan(1);
    const { dataRoot } = await d.client.frame('nums');
    for (const p of partials) {
      const want = merge!.cells?.[p]?.sha256;
      expect(want, p).toMatch(/^[0-9a-f]{64}$/);
      // The hive keeps what it fetched (and verified) in its cache.
      const cached = path.join(d.home, 'cache-faraway', 'cells', path.relative(dataRoot, p));
      expect(createHash('sha256').update(readFileSync(cached)).digest('hex'), p).toBe(want);
    }
  });

  it('answers like local bees, sends partials back, and keeps verified copies in its cache', async () => {
    expect((await d.client.colony()).hives.map((h) => h.resources.name)).toEqual(['faraway']);
    expect((await d.client.sql('SELECT count(*) AS n, sum(i) AS s FROM nums')).rows).toEqual([{ n: 50000, s: 1249975000 }]);
    const byG = await d.client.sql('SELECT g, count(*) AS n FROM nums GROUP BY g ORDER BY g');
    expect(byG.rows).toEqual(Array.from({ length: 10 }, (_, g) => ({ g, n: 5000 })));
    expect((await d.client.sql('SELECT count(DISTINCT g) AS d FROM nums WHERE i < 100')).rows).toEqual([{ d: 10 }]);
    const detail = await d.client.frame('nums');
    const cacheDir = path.join(d.home, 'cache-faraway', 'cells');
    for (const c of detail.cellList) {
      expect(existsSync(path.join(cacheDir, c.path)), c.path).toBe(true);
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(cacheDir, c.path)))
          .digest('hex'),
      ).toBe(c.sha256);
    }
  });
});
