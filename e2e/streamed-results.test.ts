import { existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Column } from '@apiary/protocol';
import { readSmapsRollup } from '@apiary/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCsv } from '../services/keeper/src/format.js';
import { SPOOL_READ_BYTES, STREAM_BUFFER_BYTES } from '../services/queen/src/query/result-stream.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { waitFor } from './helpers/procs.js';
import { spoolDirs, streamSql } from './helpers/sql-stream.js';
import { useTempDir } from './helpers/temp-dirs.js';

const DAEMON_ARGS = ['--bees', '2', '--memory-per-bee', '256MiB', '--cell-bytes', '64KiB', '--min-cell-bytes', '16KiB'];

/** The queen's proportional set size, in bytes. */
const pss = (pid: number): number => readSmapsRollup(pid)?.pss ?? 0;

/** POST /v1/sql with format ndjson, its rows gathered. */
async function ndjson(d: TestDaemon, sql: string) {
  const rows: unknown[][] = [];
  const s = await streamSql(d, sql, (r) => rows.push(r));
  return { ...s, rows };
}

const asObjects = (columns: Column[], rows: unknown[][]) => rows.map((r) => Object.fromEntries(columns.map((c, i) => [c.name, r[i]])));

describe('streamed SQL results (format ndjson / csv)', () => {
  let d: TestDaemon;
  const tmp = useTempDir('apiary-stream-');

  beforeAll(async () => {
    d = await TestDaemon.start(DAEMON_ARGS);
    await d.waitHives(1);
    const src = path.join(tmp(), 'sales.parquet');
    const gen = await keeper(
      [
        'sql',
        `COPY (SELECT i AS id, ['north','south','east','west'][(hash(i) % 4)::INT + 1] AS region,
        round((hash(i * 7) % 100000) / 100.0, 2)::DOUBLE AS amount, (i * 1000003)::HUGEINT * 1000000000000 AS big,
        CASE WHEN i % 13 = 0 THEN NULL ELSE 'n,"' || (i % 5) END AS note, DATE '2026-01-01' + (i // 500)::INT AS day
        FROM range(20000) t(i) ORDER BY i) TO '${src}' (FORMAT parquet)`,
      ],
      d.home,
    );
    expect(gen.exitCode, gen.stderr).toBe(0);
    const w = await keeper(['write', 'sales', src, '--json'], d.home);
    expect(w.exitCode, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout).cells_written).toBeGreaterThan(2);
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('streamed rows equal whole rows (frame SQL whole and decomposed, plain SQL), in ndjson, csv and keeper output', async () => {
    const queries = [
      'SELECT * FROM sales WHERE id % 7 = 0 ORDER BY id', // whole plan, many rows, HUGEINT beyond 2^53, strings needing CSV quotes
      'SELECT region, count(*) AS n, sum(amount) AS s, max(big) AS mb FROM sales GROUP BY region ORDER BY region', // decomposed, merged
      'SELECT * FROM sales WHERE false', // no rows: the columns line still comes
      "SELECT range AS i, 'x' || range AS s FROM range(3000)", // plain SQL, no frame
    ];
    for (const sql of queries) {
      const whole = await d.client.sql(sql);
      const s = await ndjson(d, sql);
      expect(s.status, sql).toBe(200);
      expect(s.columns, sql).toEqual(whole.columns);
      expect(asObjects(s.columns, s.rows), sql).toEqual(whole.rows);
      expect((s.trailer as { end: { rows: number; tasks: string[] } }).end.rows, sql).toBe(whole.rows.length);
      expect((s.trailer as { end: { tasks: string[] } }).end.tasks.length, sql).toBeGreaterThan(0);

      const csv = await fetch(`${d.url}/v1/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql, format: 'csv' }),
      });
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(await csv.text(), sql).toBe(formatCsv({ kind: 'sql', columns: whole.columns, rows: whole.rows }));

      const k = await keeper(['sql', '--format', 'ndjson', sql], d.home);
      expect(k.exitCode, k.stderr).toBe(0);
      expect(
        k.stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l)),
        sql,
      ).toEqual(whole.rows);
    }
    await waitFor(() => spoolDirs(d).length === 0, 10_000, 'no spool dir left');
  }, 180_000);

  it('an error before any row is an HTTP error; an error mid-stream is the last line (ndjson), a cut-off body (csv) and a failing keeper', async () => {
    const bad = await ndjson(d, 'SELECT * FROM sales WHERE nosuchcolumn = 1');
    expect(bad.status).toBe(400);
    expect((bad.trailer as { code: string }).code).toBe('SQL_ERROR');

    // error() fires once range passes 1,000,000: DuckDB has streamed earlier chunks by then.
    const sql = "SELECT CASE WHEN range < 1000000 THEN range ELSE error('boom at a million') END AS x FROM range(2000000)";
    const s = await ndjson(d, sql);
    expect(s.status).toBe(200);
    expect(s.rows.length).toBeGreaterThan(0);
    expect(s.rows.length).toBeLessThanOrEqual(1_000_000);
    expect(s.rows.slice(0, 3)).toEqual([[0], [1], [2]]);
    expect(s.trailer).toMatchObject({ error: { code: 'SQL_ERROR' } });
    // DuckDB's streaming API drops the message; the error still names how far the rows got.
    expect(JSON.stringify(s.trailer)).toContain(`after ${s.rows.length} rows`);

    const csvFailed = await fetch(`${d.url}/v1/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql, format: 'csv' }),
    }).then(
      (r) =>
        r.text().then(
          () => null,
          (e: Error) => e,
        ),
      (e: Error) => e,
    );
    expect(csvFailed, 'a csv body cut off mid-stream fails to read').toBeInstanceOf(Error);

    const k = await keeper(['sql', '--format', 'csv', sql], d.home);
    expect(k.exitCode).not.toBe(0);
    expect(k.stderr).toContain('SQL_ERROR');
    expect(k.stdout.startsWith('x\r\n0\r\n1\r\n')).toBe(true); // rows printed before the error
    await waitFor(() => spoolDirs(d).length === 0, 10_000, 'no spool dir left');
  }, 180_000);

  it('a 1 GiB result streams through the queen with flat memory, also while the client stops reading', async () => {
    // [i, "<100 x>"] is ~115 bytes a line: 10 M rows are over 1 GiB of NDJSON.
    // STREAM_TEST_ROWS shrinks it for a quick local run; the default is the 1 GiB the issue asks for.
    const ROWS = Number(process.env.STREAM_TEST_ROWS ?? 10_000_000);
    const MIN_BYTES = ROWS >= 10_000_000 ? 1024 ** 3 : ROWS * 100;
    /** The streaming task's own timeout: a loaded 2-core machine renders ~4 MB/s (measured at load 35). */
    const TASK_TIMEOUT_MS = 1_500_000;
    /** What the queen holds of a stream: one spool read, its line-cut copy, the yielded chunk, the response buffer. */
    const BUFFERS = 3 * SPOOL_READ_BYTES + STREAM_BUFFER_BYTES;
    /** Freed Buffers are external memory V8 reclaims lazily: it forces a GC after ~64 MiB of external growth. */
    const GC_SLACK = 64 * 1024 ** 2;
    /** Other work of the queen meanwhile (heartbeats, ledger pages, a loaded machine's slower GC). */
    const MARGIN = 32 * 1024 ** 2;
    const BOUND = BUFFERS + GC_SLACK + MARGIN; // ~100 MiB, against the ≥ 1 GiB a held result needs
    /** The client stops reading after this much, until the bee has spooled this much more. */
    const PAUSE_AT = Math.min(64 * 1024 ** 2, MIN_BYTES / 8);
    const RUN_AHEAD = Math.min(256 * 1024 ** 2, MIN_BYTES / 4);

    const queen = d.queen!.pid!;
    // Warm the path (first stream loads code, first fsql DuckDB) before the baseline.
    expect((await ndjson(d, 'SELECT range AS i FROM range(100000)')).rows.length).toBe(100_000);
    const baseline = pss(queen);
    let peak = baseline;
    let samples = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, pss(queen));
      samples++;
    }, 50);

    const sql = `SELECT range AS i, repeat('x', 100) AS pad FROM range(${ROWS})`;
    let bytes = 0;
    let lines = 0;
    let tail = '';
    let pausedPeak = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          `${d.url}/v1/sql`,
          { method: 'POST', headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' } },
          (res) => {
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
            let paused = false;
            res.on('data', (c: Buffer) => {
              bytes += c.length;
              for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
              tail = (tail + c.subarray(Math.max(0, c.length - 200)).toString('latin1')).slice(-200);
              if (!paused && bytes >= PAUSE_AT) {
                paused = true;
                res.pause();
                // A slow client: the bee runs ahead on disk while the queen reads no more of the spool.
                const spool = () => {
                  const q = path.join(d.home, 'data', 'queries');
                  const dir = readdirSync(q)[0];
                  return dir && existsSync(path.join(q, dir, 'result.ndjson')) ? statSync(path.join(q, dir, 'result.ndjson')).size : 0;
                };
                waitFor(() => spool() >= bytes + RUN_AHEAD || undefined, 240_000, 'the bee to run ahead of a paused client')
                  .then(() => {
                    pausedPeak = peak;
                    res.resume();
                  })
                  .catch(reject);
              }
            });
            res.on('end', () => resolve());
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ sql, format: 'ndjson', limits: { timeoutMs: TASK_TIMEOUT_MS } }));
      });
    } finally {
      clearInterval(sampler);
    }
    expect(bytes).toBeGreaterThanOrEqual(MIN_BYTES);
    expect(lines).toBe(ROWS + 2); // columns line, rows, end line
    expect(JSON.parse(tail.slice(tail.lastIndexOf('\n', tail.length - 2) + 1))).toMatchObject({ end: { rows: ROWS } });
    expect(samples).toBeGreaterThan(20);
    expect(pausedPeak - baseline, `queen PSS growth while the client paused (baseline ${baseline})`).toBeLessThan(BOUND);
    expect(peak - baseline, `queen PSS growth over the 1 GiB stream (baseline ${baseline})`).toBeLessThan(BOUND);
    console.log(`streamed ${(bytes / 1024 ** 2).toFixed(0)} MiB, queen PSS ${(baseline / 1024 ** 2).toFixed(1)} -> peak ${(peak / 1024 ** 2).toFixed(1)} MiB`);
    await waitFor(() => spoolDirs(d).length === 0, 10_000, 'no spool dir left');
  }, 1_600_000);

  it('a client that goes away mid-stream cancels the query and its spool file goes', async () => {
    const t0 = Date.now();
    const ac = new AbortController();
    // ~1 GiB if it ran to the end: it must not.
    const res = await fetch(`${d.url}/v1/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: `SELECT range AS i, repeat('y', 200) AS pad FROM range(5000000)`, format: 'ndjson' }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.cancel().catch(() => {});
    const cancelled = await waitFor(
      async () => (await d.client.list('cancelled', 20)).tasks.find((t) => t.kind === 'sql' && t.createdAt >= t0),
      30_000,
      'the streamed query task cancelled',
    );
    expect(cancelled.error?.code).toBe('TASK_CANCELLED');
    await waitFor(() => spoolDirs(d).length === 0, 30_000, 'the spool dir removed after the client left');
  }, 120_000);
});
