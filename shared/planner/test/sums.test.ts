// sum and avg partials cross Parquet (as on bees) and still give plain DuckDB's types and exact
// values: integer sums are HUGEINT, which Parquet would turn into DOUBLE (inexact above 2^53).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cell, FrameInfo } from '../src/index.js';
import { openDuck, query, type Duck } from './duck.js';
import { checkQuery } from './oracle.js';

const CELLS = 4;
const ROWS = 5; // per cell
const BIG = 2n ** 62n + 1n; // every row's b: any two already sum beyond 2^53
/** One cell per group, so every query merges CELLS partial files. */
const SPLIT = { bees: CELLS, targetBytesPerGroup: 1 };

const cellSql = (c: number) => `SELECT (${c * ROWS} + r)::INTEGER AS id, ['p', 'q'][r % 2 + 1] AS g,
    ${BIG}::BIGINT AS b, (r * 1000003 + ${c})::INTEGER AS i, (r * 12345.67 + ${c} / 100)::DECIMAL(18,2) AS d,
    (r * 0.1 + ${c})::DOUBLE AS x, r::UBIGINT AS u
  FROM range(${ROWS}) t(r)`;

describe('sums and averages over several cells equal plain DuckDB, types included', () => {
  let duck: Duck;
  let dir: string;
  let frame: FrameInfo;

  beforeAll(async () => {
    duck = await openDuck();
    dir = mkdtempSync(join(tmpdir(), 'apiary-sums-'));
    const cells: Cell[] = [];
    for (let c = 0; c < CELLS; c++) {
      const path = join(dir, `nums-${c}.parquet`);
      await duck.conn.run(`COPY (${cellSql(c)}) TO '${path}' (FORMAT parquet)`);
      cells.push({ path, bytes: statSync(path).size, rows: ROWS });
    }
    const desc = await query(duck.conn, `DESCRIBE SELECT * FROM read_parquet('${cells[0]!.path}')`);
    frame = { name: 'nums', cells, columns: desc.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) })) };
  });

  afterAll(() => {
    duck?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** checkQuery compares names, types and values with plain DuckDB; this also pins the split. */
  const decomposed = async (sql: string) => {
    const plan = await checkQuery(duck.conn, sql, [frame], SPLIT);
    if (plan.kind !== 'decomposed') throw new Error(`ran whole: ${plan.reason}`);
    expect(plan.groups).toHaveLength(CELLS);
    return plan;
  };
  const run = (sql: string) => query(duck.conn, sql);

  it('sum of a BIGINT beyond 2^53 is exact and HUGEINT', async () => {
    await decomposed('SELECT sum(b) AS s FROM nums');
    const r = await run('SELECT sum(b) AS s FROM nums');
    expect(r.types).toEqual(['HUGEINT']);
    expect(String(r.rows[0]![0])).toBe(String(BIG * BigInt(CELLS * ROWS)));
  });

  it('sum of a BIGINT per group, and of UBIGINT and integer arithmetic, are HUGEINT', async () => {
    await decomposed('SELECT g, sum(b) AS s, sum(u) AS su, sum(i * 2 + 1) AS si FROM nums GROUP BY g');
    await decomposed('SELECT g, sum(b) AS s FROM nums GROUP BY g HAVING sum(b) > 0 ORDER BY s DESC');
  });

  it('sum of an INTEGER is HUGEINT', async () => {
    await decomposed('SELECT sum(i) AS s, count(*) AS n FROM nums');
    expect((await run('SELECT sum(i) FROM nums')).types).toEqual(['HUGEINT']);
  });

  it('sum of a DECIMAL(18,2) stays DECIMAL(38,2), exact', async () => {
    await decomposed('SELECT g, sum(d) AS s, sum(d * 2) AS s2, sum(i + d) AS s3 FROM nums GROUP BY g');
    expect((await run('SELECT sum(d) FROM nums')).types).toEqual(['DECIMAL(38,2)']);
  });

  it('avg of a BIGINT, an INTEGER and a DECIMAL is DOUBLE, and sum of a DOUBLE is DOUBLE', async () => {
    await decomposed('SELECT avg(b) AS ab, avg(i) AS ai, avg(d) AS ad, sum(x) AS sx, avg(x) AS ax FROM nums');
    await decomposed('SELECT g, avg(b) AS ab, sum(b) AS sb FROM nums GROUP BY g');
  });

  it('sum over HUGEINT runs whole: its partial could exceed DECIMAL(38, 0)', async () => {
    const plan = await checkQuery(duck.conn, 'SELECT sum(CAST(b AS HUGEINT)) AS s FROM nums', [frame], SPLIT);
    expect(plan.kind === 'whole' && plan.reason).toMatch(/HUGEINT may exceed DECIMAL\(38, 0\)/);
  });

  it.each(['SELECT max(CAST(b AS HUGEINT)) AS m FROM nums', "SELECT g, min(CAST(TIMESTAMP '2024-01-01 00:00:07' AS TIMESTAMP_S)) AS t FROM nums GROUP BY g"])(
    'min/max of a type Parquet gives back as another runs whole: %s',
    async (sql) => {
      const plan = await checkQuery(duck.conn, sql, [frame], SPLIT);
      expect(plan.kind === 'whole' && plan.reason).toMatch(/a type Parquet does not keep/);
    },
  );
});
