import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { toWireError, type SqlResponse } from '@apiary/protocol';
import { ChangeWatch } from '@apiary/runtime';
import { csvHeader, csvRow } from './csv-line.js';
import type { QueryOptions, QueryRunner } from './query-runner.js';

export type StreamFormat = 'ndjson' | 'csv';

/** Bytes read from the spool file at a time: with the response's buffer, what the queen holds of a result. */
export const SPOOL_READ_BYTES = 1 << 20;
/** The response stream's own buffer (highWaterMark): reading stops while the client has not taken this. */
export const STREAM_BUFFER_BYTES = 1 << 20;

/**
 * A streamed /v1/sql answer (specs/frames.md#streamed-results). The step that yields rows writes
 * them as NDJSON to `<data root>/queries/<uuid>/result.ndjson` (a hive that fetches cells sends its
 * local copy there by PUT as it grows); this tails that file while the query runs, woken by
 * a ChangeWatch on its directory (fs.watch, with a slow poll as fallback), and hands out whole lines only, so the queen holds at most one read and one stream buffer
 * whatever the result's size. A slow client stops the reading (the Readable is pulled), not the
 * bee: the disk takes up the difference. NDJSON ends with `{"end":…}` or `{"error":…}`; CSV has no
 * place for an error, so its response is cut off instead (a chunked body without its last chunk).
 * Errors before the first line (a bad SQL, NO_HIVES) reject here, so the route answers with a status.
 */
export async function openResultStream(queries: QueryRunner, dataRoot: string, sql: string, opts: QueryOptions, format: StreamFormat): Promise<Readable> {
  const dir = path.join(dataRoot, 'queries', randomUUID());
  await mkdir(dir, { recursive: true });
  const spool = path.join(dir, 'result.ndjson');
  let settled = false;
  const run = queries.run(sql, { ...opts, spool });
  const settle = () => {
    settled = true;
  };
  const ended = run.then(settle, settle);
  const changes = new ChangeWatch(dir);
  try {
    // Wait for the column line (or the end): an error before any row is an HTTP error, not a trailer.
    for (;;) {
      changes.reading();
      if (settled || (await hasLine(spool))) break;
      await Promise.race([ended, changes.wait()]);
    }
    if (!(await hasLine(spool))) {
      const r = await run; // throws the query's error
      changes.close();
      await rm(dir, { recursive: true, force: true });
      return fromWhole(r, format);
    }
  } catch (e) {
    changes.close();
    await ended;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  async function* tail(): AsyncGenerator<Buffer | string> {
    const fh = await open(spool, 'r');
    let pos = 0;
    let rest = Buffer.alloc(0);
    let lines = 0;
    const toCsv = format === 'csv' ? csvConverter() : null;
    try {
      for (;;) {
        // Settled before this read: the bee had finished writing, so an empty read is the end.
        const wasSettled = settled;
        changes.reading();
        const buf = Buffer.allocUnsafe(SPOOL_READ_BYTES);
        const { bytesRead } = await fh.read(buf, 0, SPOOL_READ_BYTES, pos);
        if (bytesRead === 0) {
          if (wasSettled) break;
          await Promise.race([ended, changes.wait()]);
          continue;
        }
        pos += bytesRead;
        const data = rest.length ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        const cut = data.lastIndexOf(0x0a) + 1;
        rest = Buffer.from(data.subarray(cut));
        if (cut === 0) continue;
        const whole = data.subarray(0, cut);
        for (let i = whole.indexOf(0x0a); i >= 0; i = whole.indexOf(0x0a, i + 1)) lines++;
        yield toCsv ? toCsv(whole.toString('utf8')) : Buffer.from(whole);
      }
      let r: SqlResponse;
      try {
        r = await run;
      } catch (e) {
        if (toCsv) throw e; // destroys the response: the client sees a cut-off body, not a clean end
        yield `${JSON.stringify({ error: toWireError(e) })}\n`;
        return;
      }
      if (toCsv) return;
      yield `${JSON.stringify({ end: { rows: Math.max(0, lines - 1), tasks: r.tasks, explain: r.explain } })}\n`;
    } finally {
      changes.close();
      await fh.close();
      await ended; // a client gone cancels the query (the route's signal): wait for it before removing its file
      await rm(dir, { recursive: true, force: true });
    }
  }
  return Readable.from(tail(), { objectMode: false, highWaterMark: STREAM_BUFFER_BYTES });
}

async function hasLine(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return false;
      if (buf.subarray(0, bytesRead).includes(0x0a)) return true;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** NDJSON lines (the columns line first) to CSV lines. */
function csvConverter(): (text: string) => string {
  let header = true;
  return (text) => {
    let out = '';
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const v = JSON.parse(line) as unknown;
      if (header) {
        header = false;
        out += csvHeader((v as { columns: { name: string }[] }).columns);
      } else out += csvRow(v as unknown[]);
    }
    return out;
  };
}

/** A result held whole (a query that ended before writing its spool, e.g. plain SQL answered without one): the same lines. */
function fromWhole(r: SqlResponse, format: StreamFormat): Readable {
  function* lines(): Generator<string> {
    if (format === 'csv') {
      yield csvHeader(r.columns);
      for (const row of r.rows) yield csvRow(r.columns.map((c) => row[c.name]));
      return;
    }
    yield `${JSON.stringify({ columns: r.columns })}\n`;
    for (const row of r.rows) yield `${JSON.stringify(r.columns.map((c) => row[c.name]))}\n`;
    yield `${JSON.stringify({ end: { rows: r.rows.length, tasks: r.tasks, explain: r.explain } })}\n`;
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: STREAM_BUFFER_BYTES });
}
