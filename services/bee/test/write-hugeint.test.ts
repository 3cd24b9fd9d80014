import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WriteTaskSpec } from '@apiary/protocol';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck } from '../src/duck.js';
import { copyExact } from '../src/write-source.js';
import { runWrite } from '../src/write-task.js';

/*
 * DuckDB's Parquet writer stores HUGEINT (the type of sum() over BIGINT, or of a CSV column the
 * write's schema widened) as DOUBLE, which rounds past 2^53. A frame write must store it exactly
 * (as DECIMAL(38,0)) or refuse the value with a stable code, never keep a rounded number.
 */
describe('write task: HUGEINT columns', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-write-hugeint-'));
  const scratch = path.join(tmp, 'scratch');
  const never = new AbortController().signal;
  let duck: Duck;
  const csv = (name: string, values: string[]) => {
    const file = path.join(tmp, name);
    writeFileSync(file, `k,h\n${values.map((v, i) => `${i},${v}`).join('\n')}\n`);
    return file;
  };
  const spec = (input: string, outDir: string, type: string): WriteTaskSpec => ({
    kind: 'write',
    inputs: [input],
    format: 'csv',
    outDir: path.join(tmp, outDir),
    targetCellBytes: 1 << 20,
    maxCellBytes: 2 << 20,
    columns: [
      { name: 'k', type: 'BIGINT' },
      { name: 'h', type },
    ],
  });

  beforeAll(async () => {
    mkdirSync(scratch);
    duck = await Duck.open({ memoryLimitBytes: 256 * 2 ** 20, tempDir: scratch });
  });

  afterAll(() => {
    duck?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const type of ['HUGEINT', 'UHUGEINT']) {
    it(`${type} values above 2^53 and up to 38 digits read back from the cell exactly, as DECIMAL(38,0)`, async () => {
      const values =
        type === 'HUGEINT'
          ? ['9007199254740993', '-9007199254740993', '99999999999999999999999999999999999999', '-99999999999999999999999999999999999999', '']
          : ['9007199254740993', '99999999999999999999999999999999999998', '0', ''];
      const res = await runWrite(duck, spec(csv(`${type}.csv`, values), `out-${type}`, type), { signal: never, scratchDir: scratch });
      expect(res.schema).toEqual([
        { name: 'k', type: 'BIGINT' },
        { name: 'h', type: 'DECIMAL(38,0)' },
      ]);
      const cells = res.cells.map((c) => `'${path.join(tmp, `out-${type}`, c.file)}'`).join(', ');
      const back = await duck.query(`SELECT h::VARCHAR AS h, typeof(h) AS t FROM read_parquet([${cells}]) ORDER BY k`, never);
      expect(back.rows.map((r) => r.h)).toEqual(values.map((v) => (v === '' ? null : v)));
      expect(new Set(back.rows.map((r) => r.t))).toEqual(new Set(['DECIMAL(38,0)']));
      const sorted = values
        .filter((v) => v !== '')
        .map(BigInt)
        .sort((a, b) => Number(a - b));
      const [min, max] = [sorted[0], sorted.at(-1)];
      // Stats are JSON-safe: a safe integer as a number, a wider one as its exact text.
      const stats = res.cells[0]?.stats.h;
      expect([String(stats?.min), String(stats?.max)]).toEqual([String(min), String(max)]);
    });
  }

  it("an --into query's result (copyExact) keeps sum() over BIGINT exact; past 38 digits it fails with FRAME_VALUE_OUT_OF_RANGE", async () => {
    const conn = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
    try {
      const into = path.join(tmp, 'into.parquet');
      await copyExact(conn, 'SELECT sum(x) AS s, 7 AS k FROM (VALUES (9223372036854775807), (9223372036854775807), (1)) t(x)', into);
      const back = (await conn.runAndReadAll(`SELECT s::VARCHAR AS s, typeof(s) AS t, k FROM '${into}'`)).getRowObjectsJson();
      expect(back).toEqual([{ s: '18446744073709551615', t: 'DECIMAL(38,0)', k: 7 }]);
      await expect(copyExact(conn, 'SELECT 170141183460469231731687303715884105727::HUGEINT AS h', into)).rejects.toMatchObject({
        code: 'FRAME_VALUE_OUT_OF_RANGE',
      });
    } finally {
      conn.closeSync();
    }
  });

  it('a value past 38 digits (near the HUGEINT max) fails the write with FRAME_VALUE_OUT_OF_RANGE, not a rounded number', async () => {
    const input = csv('too-big.csv', ['1', '170141183460469231731687303715884105727']);
    await expect(runWrite(duck, spec(input, 'out-too-big', 'HUGEINT'), { signal: never, scratchDir: scratch })).rejects.toMatchObject({
      code: 'FRAME_VALUE_OUT_OF_RANGE',
      message: expect.stringContaining('170141183460469231731687303715884105727'),
    });
  });
});
