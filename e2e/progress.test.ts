import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { type ApiaryError, type ProgressView, REQUEST_ID_HEADER } from '@apiary/protocol';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueenClient } from '@apiary/client';
import { KEEPER_BIN } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { waitFor } from './helpers/procs.js';
import { useTempDir } from './helpers/temp-dirs.js';

/** Small cells, so a frame of a few hundred thousand rows has many: a query's count has room to move. */
const DAEMON_ARGS = ['--bees', '2', '--memory-per-bee', '256MiB', '--cell-bytes', '256KiB', '--min-cell-bytes', '16KiB'];
const FILES = 4;
const ROWS_PER_FILE = 150_000;
/** The test's own polling of GET /v1/progress/:id: well under a write task's or a map step's length. */
const POLL_MS = 10;
/** `script` (util-linux, in Debian's essential bsdutils) gives the keeper a pseudo-terminal. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/** What the progress line writes before each drawing and to clear itself: carriage return, erase the line. */
const ERASE = '\r\x1b[K';

/** A request ends, and its progress is dropped at once: a loaded machine may still take this long to answer the poll. */
const FORGET_MS = 30_000;

const notRunning = (e: unknown) => (e as ApiaryError).code === 'PROGRESS_NOT_FOUND';

/** Poll a request's progress until `done()` says stop; every view seen, in order (unknown ids are skipped). */
async function follow(d: TestDaemon, id: string, done: () => boolean): Promise<ProgressView[]> {
  const seen: ProgressView[] = [];
  while (!done()) {
    try {
      seen.push(await d.client.progress(id));
    } catch (e) {
      if (!notRunning(e)) throw e;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return seen;
}

/** Wait until the request's progress is no longer followed (its request ended), bounded by FORGET_MS. */
async function forgotten(d: TestDaemon, id: string, what: string): Promise<void> {
  await waitFor(
    () =>
      d.client.progress(id).then(
        () => undefined,
        (e) => notRunning(e) || undefined,
      ),
    FORGET_MS,
    what,
  );
}

/** The keeper with `args` on a pseudo-terminal (stdout and stderr both), via `script`; its output as the terminal saw it. */
function keeperOnTerminal(d: TestDaemon, args: string[]) {
  const cmd = [process.execPath, KEEPER_BIN, ...args].map((a) => `'${a}'`).join(' ');
  return execa(SCRIPT!, ['-qec', cmd, '/dev/null'], {
    reject: false,
    stdin: 'ignore',
    timeout: 180_000,
    env: { APIARY_HOME: d.home, APIARY_LOG_LEVEL: 'warn' },
  });
}

/** The count never goes back while the unit stays the same, and never passes its total. */
function expectMonotonic(seen: ProgressView[]): void {
  for (const [i, v] of seen.entries()) {
    expect(v.done, JSON.stringify(v)).toBeLessThanOrEqual(v.total);
    const prev = seen[i - 1];
    if (prev && prev.total === v.total && prev.unit === v.unit) expect(v.done, JSON.stringify([prev, v])).toBeGreaterThanOrEqual(prev.done);
  }
}

describe('progress of writes and frame queries (GET /v1/progress/:id, keeper on a terminal)', () => {
  let d: TestDaemon;
  const tmp = useTempDir('apiary-progress-');
  const glob = () => path.join(tmp(), 'part-*.csv');

  beforeAll(async () => {
    d = await TestDaemon.start(DAEMON_ARGS);
    await d.waitHives(1);
    for (let f = 0; f < FILES; f++) {
      const file = path.join(tmp(), `part-${f}.csv`);
      const g = await keeper(
        [
          'sql',
          `COPY (SELECT i + ${f * ROWS_PER_FILE} AS id, ['north','south','east','west'][(hash(i) % 4)::INT + 1] AS region,
          round((hash(i * 7) % 100000) / 100.0, 2)::DOUBLE AS amount, md5(i::VARCHAR) AS note
          FROM range(${ROWS_PER_FILE}) t(i)) TO '${file}' (FORMAT csv, HEADER)`,
        ],
        d.home,
        { timeoutMs: 120_000 },
      );
      expect(g.exitCode, g.stderr).toBe(0);
    }
    // The frame the query tests read (each test can run alone).
    expect((await d.client.writeFrame('sales', { path: glob() })).version).toBe(1);
  }, 300_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('a write reports its input files written of all while it runs, and is forgotten when it ends', async () => {
    const id = randomUUID();
    let ended = false;
    const write = d.client.writeFrame('followed', { path: glob(), mode: 'overwrite' }, undefined, id).finally(() => {
      ended = true;
    });
    const seen = await follow(d, id, () => ended);
    const r = await write;
    const writing = seen.filter((v) => v.phase === 'write' || v.phase === 'commit');
    expect(writing.length, JSON.stringify(seen)).toBeGreaterThan(0);
    for (const v of writing) expect([v.kind, v.unit, v.total]).toEqual(['write', 'files', FILES]);
    // A write task takes its files whole: the count starts at 0 before any of them is written.
    expect(writing[0]!.done, JSON.stringify(writing)).toBe(0);
    expectMonotonic(seen);
    for (const v of seen) expect(v.cells).toBeLessThanOrEqual(r.cells_written);
    // Ended: the id is no longer followed.
    await expect(d.client.progress(id)).rejects.toMatchObject({ code: 'PROGRESS_NOT_FOUND' });
  }, 240_000);

  it('a frame query counts all its cells (seen while its streamed response is held open), only upward, and ends when its response closes', async () => {
    const cells = (await d.client.frame('sales')).cellList.length;
    expect(cells).toBeGreaterThan(2);
    const id = randomUUID();
    // A big streamed result, not read: the query's steps end, the response stays open (backpressure),
    // so the finished count can be seen before the request ends.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${d.url}/v1/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json', [REQUEST_ID_HEADER]: id },
      });
      req.on('response', (r) => {
        r.pause();
        resolve(r);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ sql: 'SELECT * FROM sales', format: 'ndjson' }));
    });
    try {
      expect(res.statusCode).toBe(200);
      const all = await waitFor(
        async () => {
          const v = await d.client.progress(id);
          return v.done === v.total && v.total > 0 ? v : undefined;
        },
        120_000,
        'the query to count all its cells',
      );
      expect([all.kind, all.unit, all.total, all.cells]).toEqual(['query', 'cells', cells, cells]);
    } finally {
      res.destroy();
    }
    await forgotten(d, id, 'the query to be forgotten');

    // A decomposed query (map over groups, merge) followed from its start: its count only grows, in cells of the frame.
    const id2 = randomUUID();
    let ended = false;
    const q = d.client.sql('SELECT region, count(*) AS n, sum(amount) AS s FROM sales GROUP BY region', { requestId: id2 }).finally(() => {
      ended = true;
    });
    const seen = await follow(d, id2, () => ended);
    expect((await q).rows.length).toBe(4);
    const counted = seen.filter((v) => v.total > 0);
    expect(counted.length, JSON.stringify(seen)).toBeGreaterThan(0);
    for (const v of counted) expect([v.kind, v.unit, v.total]).toEqual(['query', 'cells', cells]);
    expectMonotonic(seen);
  }, 240_000);

  it("a write's progress needs scope submit, as the write: a read token is FORBIDDEN while the client token reads it", async () => {
    const read = new QueenClient(d.url, (await d.client.createToken('read', 'progress-test')).token);
    const id = randomUUID();
    // An upload whose body never ends: the request is followed from its start and stays open.
    const req = http.request(`${d.url}/v1/frames/uploaded/upload?format=csv`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/octet-stream', [REQUEST_ID_HEADER]: id },
    });
    req.on('error', () => undefined); // destroyed below
    req.write('id,region\n');
    try {
      const v = await waitFor(() => d.client.progress(id).catch((e) => (notRunning(e) ? undefined : Promise.reject(e))), 30_000, 'the upload followed');
      expect(v).toMatchObject({ kind: 'write', phase: 'start', done: 0 });
      await expect(read.progress(id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      req.destroy();
    }
    await forgotten(d, id, 'the upload forgotten');
  }, 60_000);

  it('a malformed request id is BAD_REQUEST before any work; an unknown one is PROGRESS_NOT_FOUND', async () => {
    const before = (await d.client.frames()).frames.find((f) => f.name === 'sales')?.version;
    const res = await fetch(`${d.url}/v1/frames/sales/write`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json', [REQUEST_ID_HEADER]: 'no spaces!' },
      body: JSON.stringify({ path: glob() }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(REQUEST_ID_HEADER) });
    expect((await d.client.frames()).frames.find((f) => f.name === 'sales')?.version).toBe(before);
    const bad = await fetch(`${d.url}/v1/progress/x`, { headers: { authorization: `Bearer ${d.token('client')}` } });
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'BAD_REQUEST']);
    await expect(d.client.progress(randomUUID())).rejects.toMatchObject({ code: 'PROGRESS_NOT_FOUND' });
  }, 60_000);

  it.skipIf(!SCRIPT)(
    'keeper write draws a progress line on a terminal, and nothing extra when piped or with --json',
    async () => {
      // On a pseudo-terminal (stdout and stderr both): the line is drawn (\r, erase line) and cleared before the summary.
      const tty = await keeperOnTerminal(d, ['write', 'sales_tty', glob()]);
      expect(tty.exitCode, tty.stdout).toBe(0);
      expect(
        ['starting', 'writing', 'committing'].some((p) => tty.stdout.includes(`${ERASE}write sales_tty: ${p}`)),
        tty.stdout,
      ).toBe(true);
      // Cleared, then the summary on a clean line.
      expect(tty.stdout).toContain(`${ERASE}frame sales_tty version 1: `);

      // Piped: the summary alone, nothing on stderr.
      const piped = await keeper(['write', 'sales_pipe', glob()], d.home, { timeoutMs: 180_000 });
      expect(piped.exitCode, piped.stderr).toBe(0);
      expect(piped.stderr).toBe('');
      expect(piped.stdout).toMatch(/^frame sales_pipe version 1: [^\n]*\n$/);

      // --json on a terminal: the JSON line alone.
      const json = await keeperOnTerminal(d, ['write', 'sales_json', glob(), '--json']);
      expect(json.exitCode, json.stdout).toBe(0);
      expect(json.stdout).not.toContain(ERASE);
      expect(JSON.parse(json.stdout.trim())).toMatchObject({ frame: 'sales_json', version: 1 });
    },
    600_000,
  );
});
