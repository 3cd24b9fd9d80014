import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InputFormat } from '@apiary/protocol';
import { CellCache } from '../../hive/src/cell-cache.js';
import { localSqlFiles } from '../../hive/src/remote-sql.js';
import { FrameCatalog } from '../src/frames/catalog.js';
import { CSV_SAMPLE_BYTES, CSV_SAMPLE_LINES } from '../src/frames/input-sample.js';
import { describeInputs } from '../src/frames/input-schema.js';
import { WriteSlots } from '../src/frames/write-slots.js';
import { errorHandler } from '../src/http/errors.js';
import { registerCellRoutes } from '../src/http/routes-cells.js';
import { UploadSlots } from '../src/query/upload-slots.js';

/*
 * A write's schema probe on a hive that fetches cells: the queen's real /v1/cells routes serve
 * samples of a running write's inputs, the hive's real CellCache and localSqlFiles fetch them and
 * rewrite the probe's SQL, and DuckDB describes the samples exactly as it describes the originals.
 */
describe('schema probes over fetched samples describe inputs as the originals', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'apiary-samples-'));
  const inputs = path.join(root, 'in');
  const local = path.join(root, 'hive');
  const slots = new WriteSlots();
  const writeId = randomUUID();
  let app: FastifyInstance;
  let base = '';
  let cache: CellCache;
  let db: DuckDBInstance;
  let con: DuckDBConnection;

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setErrorHandler(errorHandler);
    registerCellRoutes(app, { frames: { catalog: FrameCatalog.memory(), dataRoot: root, writer: { slots } }, queries: { uploads: new UploadSlots() } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    mkdirSync(inputs, { recursive: true });
    cache = new CellCache(path.join(local, 'cells'), 16 * 1024 * 1024, base, 'join-token-for-tests');
    db = await DuckDBInstance.create(':memory:');
    con = await db.connect();
  });
  afterAll(async () => {
    await slots.close(writeId);
    con?.closeSync();
    db?.closeSync();
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The probe SQL the queen builds (describeInputs' task spec), captured without a scheduler. */
  const probeSpec = async (files: string[], format: InputFormat) => {
    let spec: unknown;
    const scheduler = {
      submitMany: (tasks: { spec: unknown }[]) => {
        spec = tasks[0]!.spec;
        throw new Error('captured');
      },
    };
    await describeInputs(scheduler as never, files, format, new AbortController().signal).catch(() => undefined);
    return spec as { kind: 'sql'; sql: string; samples: { format: InputFormat; files: string[] } };
  };
  const rows = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJson();

  async function sameAsInPlace(files: string[], format: InputFormat) {
    slots.open(writeId, 'f', files);
    try {
      const spec = await probeSpec(files, format);
      expect(spec.samples).toEqual({ format, files });
      const dir = path.join(local, 'outputs', randomUUID());
      const l = await localSqlFiles(spec, root, cache, dir);
      try {
        for (const f of files) expect(l.spec.sql, 'the SQL names no queen file').not.toContain(`'${f}'`);
        expect(await rows(l.spec.sql)).toEqual(await rows(spec.sql));
        return { dir, spec: l.spec };
      } finally {
        await l.release();
        expect(existsSync(dir), 'the samples are removed').toBe(false);
      }
    } finally {
      await slots.close(writeId);
    }
  }

  it('Parquet: only the footer travels, in a sparse file of the true size', async () => {
    const f = path.join(inputs, 'big.parquet');
    await con.run(`COPY (SELECT i::INTEGER AS id, md5(i::VARCHAR) AS s, i * 0.25 AS d FROM range(200000) t(i)) TO '${f}' (FORMAT parquet)`);
    const footer = readFileSync(f).readUInt32LE(statSync(f).size - 8) + 8;
    // What the route sends for this sample: the footer alone, marked as the tail of the file.
    slots.open(writeId, 'f', [f]);
    const r = await fetch(`${base}/v1/cells/write-input?path=${encodeURIComponent(f)}&sample=parquet`);
    expect(r.headers.get('x-apiary-tail-of')).toBe(String(statSync(f).size));
    expect((await r.arrayBuffer()).byteLength).toBe(footer);
    expect(footer).toBeLessThan(statSync(f).size / 10);
    await slots.close(writeId);
    await sameAsInPlace([f, f], 'parquet');
  });

  it('CSV: the first 40,960 lines (at most 32 MiB, cut after a whole line) sniff as the whole file; a small or compressed file travels whole', async () => {
    /** A CSV of `rows` rows padded to `pad` bytes each, then a row that would change every type if it were read. */
    const csv = (name: string, rows: number, pad: number) => {
      const f = path.join(inputs, name);
      const parts = ['id,n,at,pad\n'];
      for (let i = 0; i < rows; i++) parts.push(`${i},${i % 1000},2026-01-0${1 + (i % 9)},${'x'.repeat(pad)}\n`);
      parts.push('-1,1.5,not a date,x\n');
      writeFileSync(f, parts.join(''));
      return f;
    };
    const sampleOf = async (f: string) => {
      slots.open(writeId, 'f', [f]);
      try {
        const b = Buffer.from(await (await fetch(`${base}/v1/cells/write-input?path=${encodeURIComponent(f)}&sample=csv`)).arrayBuffer());
        expect(b.subarray(-1).toString(), 'ends with a whole line').toBe('\n');
        expect(readFileSync(f).subarray(0, b.length).equals(b), 'a prefix of the file').toBe(true);
        return b;
      } finally {
        await slots.close(writeId);
      }
    };
    // Short lines: the line count ends the sample (far below the byte cap).
    const lines = csv('lines.csv', 100_000, 40);
    const byLines = await sampleOf(lines);
    expect(byLines.toString().split('\n').length - 1).toBe(CSV_SAMPLE_LINES);
    // Long lines: the byte cap ends it, after the last whole line within it.
    const long = csv('long.csv', 34_000, 1000);
    const byBytes = await sampleOf(long);
    expect(byBytes.length).toBeLessThanOrEqual(CSV_SAMPLE_BYTES);
    expect(byBytes.length).toBeGreaterThan(CSV_SAMPLE_BYTES - 1100);
    const small = path.join(inputs, 'small.csv');
    writeFileSync(small, 'id,n,at,pad\n1,2,2026-01-01,y\n');
    // No newline at the end: the last line is still sent (it may carry the type).
    const open = path.join(inputs, 'open.csv');
    writeFileSync(open, 'id,n,at,pad\n1,2.5,2026-01-01,y');
    expect((await sampleOf(small)).length).toBe(statSync(small).size);
    const gz = path.join(inputs, 'small.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(small)));
    const r = await sameAsInPlace([lines, long, small, open, gz], 'csv');
    expect(r.spec.sql).toContain('-small.csv.gz'); // the local copy keeps .gz: DuckDB tells compression from it
  });

  it('JSON travels whole (an array cannot be cut)', async () => {
    const arr = path.join(inputs, 'a.json');
    writeFileSync(arr, JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ id: i, s: `v${i}` }))));
    const nd = path.join(inputs, 'b.ndjson');
    writeFileSync(nd, Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: i, s: `v${i}` })).join('\n'));
    await sameAsInPlace([arr, nd], 'json');
  });

  it('a probe of a file no running write reads fails with CELL_FETCH_FAILED and leaves nothing', async () => {
    const f = path.join(inputs, 'small.csv');
    const spec = await probeSpec([f], 'csv');
    const dir = path.join(local, 'outputs', randomUUID());
    await expect(localSqlFiles(spec, root, cache, dir)).rejects.toMatchObject({ code: 'CELL_FETCH_FAILED' });
    expect(existsSync(dir)).toBe(false);
  });
});
