import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WriteResult, WriteTaskSpec } from '@apiary/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCell } from '../src/cell-stats.js';
import { copiedFiles, statsFromCopy } from '../src/copy-stats.js';
import { Duck } from '../src/duck.js';
import { runWrite } from '../src/write-task.js';

/*
 * A bee's write task in-process with real DuckDB. Cell stats come from what the Parquet writer
 * recorded (COPY … RETURN_STATS), not from a second read of each cell (issue 11): they must still
 * equal what a full read of the cell gives, for every type and edge value, because the planner
 * prunes cells with them.
 */
describe('write task: cells and their stats', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-write-task-'));
  const scratch = path.join(tmp, 'scratch');
  const never = new AbortController().signal;
  let duck: Duck;
  const spec = (inputs: string[], outDir: string, targetCellBytes: number): WriteTaskSpec => ({
    kind: 'write',
    inputs,
    format: 'parquet',
    outDir: path.join(tmp, outDir),
    targetCellBytes,
    maxCellBytes: 2 * targetCellBytes,
  });

  // Every column type a user's file may hold, with the values whose footer statistics are not
  // exact or are absent: NaN and infinities, NULLs and an all-NULL column, strings past the
  // writer's 256-byte cut (also in multi-byte characters under 256 characters), the empty string,
  // 64-bit extremes, negative decimals, infinite dates, times before 1970, nested values.
  const RICH = `SELECT
      range AS i,
      CASE WHEN range % 7 = 0 THEN NULL ELSE range - 5000 END AS with_nulls,
      NULL::INTEGER AS all_null,
      CASE range WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 ELSE range END AS extremes,
      (range % 250)::UTINYINT AS ut, (range * 3)::UINTEGER AS ui, (range + 18446744073709500000)::UBIGINT AS ub, (range % 100 - 50)::TINYINT AS ti,
      (range * 1.25 - 900)::DECIMAL(9,2) AS d9, (range * 1.5 - 1000)::DECIMAL(18,3) AS d18, (range / 7 - 3)::DECIMAL(38,10) AS d38,
      range / 3 AS dbl, (range / 3)::FLOAT AS flt,
      CASE range WHEN 3 THEN 'NaN'::DOUBLE WHEN 4 THEN 'inf'::DOUBLE ELSE range END AS with_nan,
      CASE range WHEN 2 THEN '-inf'::DOUBLE WHEN 5 THEN 'inf'::DOUBLE ELSE range * 0.5 END AS with_inf,
      range % 2 = 0 AS b,
      CASE WHEN range = 9 THEN 'infinity'::DATE ELSE DATE '1950-01-01' + range::INTEGER END AS dt,
      TIMESTAMP '1960-06-01 12:00:00.123456' + to_seconds(range) AS ts,
      TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(range) AS tstz,
      TIMESTAMP_NS '2020-01-01 00:00:00.123456789' + to_seconds(range) AS tns,
      TIMESTAMP_S '2020-01-01 00:00:01' AS tss,
      TIME '01:02:03.5' + to_seconds(range % 1000) AS tm,
      to_seconds(range) AS iv,
      ('b' || range)::BLOB AS bl,
      md5(range::VARCHAR)::UUID AS u,
      (range::HUGEINT * 100000000000000000000) AS hi,
      'k' || (range % 13) AS s,
      CASE WHEN range = 11 THEN '' ELSE 'é' || range END AS uni,
      CASE WHEN range % 500 = 1 THEN repeat('z', 300) || range ELSE 'y' || range END AS longish,
      CASE WHEN range = 12 THEN repeat('é', 200) ELSE 'a' END AS wide_chars,
      [range, range + 1] AS li,
      CASE WHEN range % 5 = 0 THEN NULL ELSE {'k': range} END AS st,
      MAP {'m': range} AS mp
    FROM range(20000)`;

  beforeAll(async () => {
    mkdirSync(scratch);
    duck = await Duck.open({ memoryLimitBytes: 512 * 2 ** 20, tempDir: scratch });
    await duck.query(`COPY (${RICH}) TO '${path.join(tmp, 'rich.parquet')}' (FORMAT parquet)`, never);
    await duck.query(
      `COPY (SELECT range AS k, range * 2.5 AS v, 'row ' || range AS s FROM range(300000)) TO '${path.join(tmp, 'big.parquet')}' (FORMAT parquet)`,
      never,
    );
    await duck.query(
      `COPY (SELECT range AS k, range * 2.5 AS v, 'row ' || range AS s FROM range(300000)) TO '${path.join(tmp, 'groups.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 20480)`,
      never,
    );
  });

  afterAll(() => {
    duck?.close();
    rmSync(tmp, { recursive: true, force: true });
    expect(existsSync(tmp)).toBe(false);
  });

  it("every cell's stats from the writer equal a full read of the cell, for every type and edge value", async () => {
    // A small target: several cells, so stats are per cell and not of the whole input.
    const res = await runWrite(duck, spec([path.join(tmp, 'rich.parquet')], 'out-rich', 64 * 1024), { signal: never, scratchDir: scratch });
    expect(res.cells.length).toBeGreaterThan(2);
    expect(res.cells.reduce((n, c) => n + c.rows, 0)).toBe(20_000);
    const json = (x: unknown) => JSON.parse(JSON.stringify(x));
    for (const c of res.cells) {
      const full = await describeCell(duck, path.join(tmp, 'out-rich', c.file), c.file, res.schema, never);
      expect(json(c)).toEqual(json(full));
    }
    // The edge values did land in some cell (else the comparison above proved little).
    const anyStat = (col: string, f: (v: unknown) => boolean) => res.cells.some((c) => f(c.stats[col]!.max) || f(c.stats[col]!.min));
    expect(anyStat('with_nan', (v) => Number.isNaN(Number(v)) && v !== null)).toBe(true);
    expect(anyStat('longish', (v) => v === null)).toBe(true);
    expect(anyStat('wide_chars', (v) => v === 'é'.repeat(200))).toBe(true);
    expect(res.cells.every((c) => c.stats.all_null!.null_count === c.rows && c.stats.all_null!.min === null)).toBe(true);
  });

  it('exact columns are not read again: their stats come with the cell file already gone; others are read', async () => {
    const file = path.join(tmp, 'gone.parquet');
    const copy = async (sql: string) => copiedFiles((await duck.query(`COPY (${sql}) TO '${file}' (FORMAT parquet, RETURN_STATS)`, never)).rows).get(file)!;
    const schema = [
      { name: 'k', type: 'BIGINT' },
      { name: 's', type: 'VARCHAR' },
    ];
    const c = await copy("SELECT range AS k, 'row ' || range AS s FROM range(1000)");
    rmSync(file);
    expect(await statsFromCopy(duck, file, schema, c, never)).toEqual({
      rows: 1000,
      stats: { k: { min: 0, max: 999, null_count: 0 }, s: { min: 'row 0', max: 'row 999', null_count: 0 } },
    });
    // A BLOB's footer value is hex text, not the value: that column is read from the cell.
    const b = await copy("SELECT range AS k, 'x'::BLOB AS bl FROM range(10)");
    rmSync(file);
    await expect(statsFromCopy(duck, file, [schema[0]!, { name: 'bl', type: 'BLOB' }], b, never)).rejects.toMatchObject({ code: 'SQL_ERROR' });
  });

  it('a Parquet input far below the target keeps row groups at the default size; a small target cuts many cells within bounds', async () => {
    const big = path.join(tmp, 'big.parquet');
    const one = await runWrite(duck, spec([big], 'out-one', 256 * 2 ** 20), { signal: never, scratchDir: scratch });
    expect(one.cells).toHaveLength(1);
    const groups = await duck.query(
      `SELECT DISTINCT row_group_num_rows AS n FROM parquet_metadata('${path.join(tmp, 'out-one', one.cells[0]!.file)}') ORDER BY n`,
      never,
    );
    // 300,000 rows in groups of DuckDB's default 122,880 (the last group holds the rest).
    expect(groups.rows.map((r) => r.n)).toEqual([300_000 - 2 * 122_880, 122_880]);

    const target = 256 * 1024;
    const many = await runWrite(duck, spec([big], 'out-many', target), { signal: never, scratchDir: scratch });
    expect(many.cells.length).toBeGreaterThan(3);
    expect(many.cells.reduce((n, c) => n + c.rows, 0)).toBe(300_000);
    for (const c of many.cells) expect(c.bytes).toBeLessThanOrEqual(2 * target);
  });

  it('parts of one Parquet input tile it: every row written once, in order, each part about a third', async () => {
    const input = path.join(tmp, 'groups.parquet');
    const of = 3;
    const parts: WriteResult[] = [];
    for (let index = 0; index < of; index++) {
      parts.push(await runWrite(duck, { ...spec([input], `out-part-${index}`, 256 * 2 ** 20), part: { index, of } }, { signal: never, scratchDir: scratch }));
    }
    const rows = parts.map((p) => p.cells.reduce((n, c) => n + c.rows, 0));
    expect(rows.reduce((a, b) => a + b, 0)).toBe(300_000);
    // 15 row groups of 20,480 rows (the last 13,280) in runs of whole groups: 5, 5 and 5 groups.
    expect(rows).toEqual([102_400, 102_400, 95_200]);
    // The same rows as the input, and part i's keys all before part i+1's.
    const cells = parts.flatMap((p, i) => p.cells.map((c) => `'${path.join(tmp, `out-part-${i}`, c.file)}'`));
    const sum = async (from: string) => (await duck.query(`SELECT count(*) AS n, sum(hash(k, v, s)::HUGEINT)::VARCHAR AS h FROM ${from}`, never)).rows[0];
    expect(await sum(`read_parquet([${cells.join(', ')}])`)).toEqual(await sum(`read_parquet('${input}')`));
    for (let i = 0; i + 1 < of; i++) expect(parts[i]!.cells.at(-1)!.stats.k!.max).toBeLessThan(parts[i + 1]!.cells[0]!.stats.k!.min as number);
    expect(parts.every((p) => JSON.stringify(p.schema) === JSON.stringify(parts[0]!.schema))).toBe(true);
  });

  it("a part with no row group of its own writes no cell; a part also reads with the write's one schema", async () => {
    const one = path.join(tmp, 'one-group.parquet');
    await duck.query(`COPY (SELECT range AS k FROM range(100)) TO '${one}' (FORMAT parquet)`, never);
    const columns = [{ name: 'k', type: 'DOUBLE' }];
    const a = await runWrite(duck, { ...spec([one], 'out-g0', 1 << 20), part: { index: 0, of: 2 }, columns }, { signal: never, scratchDir: scratch });
    const b = await runWrite(duck, { ...spec([one], 'out-g1', 1 << 20), part: { index: 1, of: 2 }, columns }, { signal: never, scratchDir: scratch });
    expect(a.cells.map((c) => c.rows)).toEqual([100]);
    expect(b.cells).toEqual([]);
    expect(a.schema).toEqual(columns);
    expect(b.schema).toEqual(columns);
    await expect(
      runWrite(duck, { ...spec([one, one], 'out-bad', 1 << 20), part: { index: 0, of: 2 } }, { signal: never, scratchDir: scratch }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
