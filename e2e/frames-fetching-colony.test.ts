import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiaryError } from '@apiary/protocol';
import { duckCopy } from './helpers/duck-copy.js';
import { type FramesDaemon, useFramesDaemon } from './helpers/frames-daemon.js';
import { keeper } from './helpers/keeper.js';
import { filesUnder } from './helpers/temp-dirs.js';

/*
 * Frames from a colony whose only hive fetches cells (issue 11): the glob listing (now the queen's
 * own), the one-schema probes (on fetched samples: a Parquet footer, a CSV's first rows) and
 * `keeper sql --into` (the result file sent back with PUT, sha256-checked) work there, with the same
 * outcome as a colony whose hive reads the queen's files in place. Before, each was NO_HIVES.
 */

/**
 * A write through a fetching hive moves every input (and first a sample of each) and every cell
 * over HTTP, in both colonies at once; on a loaded 2-core machine that is several times the suite's
 * 60 s default.
 */
const TEST_MS = 240_000;

describe('frames from a colony whose only hive fetches cells, against one whose hive reads in place', () => {
  const local = useFramesDaemon({ tmpPrefix: 'apiary-fetchcol-local-' });
  // No hive on the queen's machine: the only hive fetches (forced, as on another machine).
  const remote = useFramesDaemon({
    tmpPrefix: 'apiary-fetchcol-remote-',
    extraArgs: ['--no-local-hive'],
    hive: { name: 'faraway', args: ['--fetch-cells', 'always', '--cell-cache', '64MiB'] },
  });
  let inputs = '';
  beforeAll(() => {
    inputs = mkdtempSync(path.join(os.tmpdir(), 'apiary-fetchcol-in-'));
  });
  afterAll(() => {
    rmSync(inputs, { recursive: true, force: true });
    expect(existsSync(inputs)).toBe(false);
  });

  /** Nothing a write or query left: no staging dir, no query dir on the queen, nothing in the hive's write and output dirs. */
  const expectNoLeftovers = (frame: string) => {
    const data = path.join(remote.d.home, 'data');
    expect(existsSync(path.join(data, 'frames', frame, 'staging')), "the queen's staging dir").toBe(false);
    expect(filesUnder(path.join(data, 'queries')), "the queen's query dirs").toEqual([]);
    const cache = path.join(remote.d.home, 'cache-faraway');
    expect(filesUnder(path.join(cache, 'writes')), "the hive's write dir").toEqual([]);
    expect(filesUnder(path.join(cache, 'outputs')), "the hive's output dir").toEqual([]);
  };
  const both = async <T>(f: (fx: FramesDaemon) => Promise<T>): Promise<[T, T]> => [await f(local), await f(remote)];
  const rowsOf = async (fx: FramesDaemon, frame: string) => (await fx.d.client.sql(`SELECT * FROM ${frame} ORDER BY ALL`)).rows;

  it(
    'a glob of CSVs with differing but unifiable types writes one version, typed and valued as on a local hive',
    async () => {
      const dir = path.join(inputs, 'csv');
      mkdirSync(path.join(dir, 'more'), { recursive: true });
      // BIGINT/DATE in a.csv, DOUBLE/TIMESTAMP in b.csv, SMALLINT-sized in the nested c.csv ('**').
      writeFileSync(path.join(dir, 'a.csv'), `id,x,at\n${Array.from({ length: 3000 }, (_, i) => `${i},${i},2026-01-0${1 + (i % 9)}`).join('\n')}\n`);
      writeFileSync(
        path.join(dir, 'b.csv'),
        `id,x,at\n${Array.from({ length: 3000 }, (_, i) => `${3000 + i},${i}.5,2026-02-01 10:00:0${i % 10}`).join('\n')}\n`,
      );
      writeFileSync(path.join(dir, 'more', 'c.csv'), 'id,x,at\n6000,7,2026-03-01\n');
      const [wl, wr] = await both((fx) => fx.d.client.writeFrame('mixed', { path: path.join(dir, '**', '*.csv') }));
      expect(wr).toMatchObject({ version: 1, rows_written: 6001 });
      expect(wr.rows_written).toBe(wl.rows_written);
      const [fl, fr] = await both((fx) => fx.d.client.frame('mixed'));
      expect(fr.schema).toEqual([
        { name: 'id', type: 'BIGINT' },
        { name: 'x', type: 'DOUBLE' },
        { name: 'at', type: 'TIMESTAMP' },
      ]);
      expect(fr.schema).toEqual(fl.schema);
      const [rl, rr] = await both((fx) => rowsOf(fx, 'mixed'));
      expect(rr).toHaveLength(6001);
      expect(rr).toEqual(rl);
      expectNoLeftovers('mixed');
    },
    TEST_MS,
  );

  it(
    'a glob of Parquet files probed by their footers (INTEGER and BIGINT) writes BIGINT, as on a local hive',
    async () => {
      const dir = path.join(inputs, 'pq');
      mkdirSync(dir);
      await duckCopy(`COPY (SELECT i::INTEGER AS id, 'p' || i AS s FROM range(20000) t(i)) TO '${path.join(dir, 'p1.parquet')}'`);
      await duckCopy(`COPY (SELECT (i + 5000000000)::BIGINT AS id, 'q' || i AS s FROM range(20000) t(i)) TO '${path.join(dir, 'p2.parquet')}'`);
      await both((fx) => fx.d.client.writeFrame('pq', { path: path.join(dir, 'p?.parquet') }));
      const [fl, fr] = await both((fx) => fx.d.client.frame('pq'));
      expect(fr.schema).toEqual([
        { name: 'id', type: 'BIGINT' },
        { name: 's', type: 'VARCHAR' },
      ]);
      expect(fr.schema).toEqual(fl.schema);
      const sum = (fx: FramesDaemon) => fx.d.client.sql('SELECT count(*) AS n, sum(id)::VARCHAR AS s, min(s) AS lo, max(s) AS hi FROM pq');
      const [ql, qr] = await both(sum);
      expect(qr.rows).toEqual(ql.rows);
      expect(qr.rows[0]).toMatchObject({ n: 40000 });
      expectNoLeftovers('pq');
    },
    TEST_MS,
  );

  it('incompatible files fail with FRAME_SCHEMA_MISMATCH naming file and column, before any cell, as on a local hive', async () => {
    const dir = path.join(inputs, 'bad');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.csv'), 'id,when\n1,2026-01-01\n2,2026-01-02\n');
    writeFileSync(path.join(dir, 'b.csv'), 'id,when\n3,true\n4,false\n');
    const [el, er] = await both(
      (fx) =>
        fx.d.client.writeFrame('bad', { path: path.join(dir, '*.csv') }).then(
          () => null,
          (e: ApiaryError) => e,
        ) as Promise<ApiaryError | null>,
    );
    expect(er?.code).toBe('FRAME_SCHEMA_MISMATCH');
    expect(er?.message).toContain(path.join(dir, 'b.csv'));
    expect(er?.message).toContain('"when"');
    expect(er?.message).toBe(el?.message);
    await expect(remote.d.client.frame('bad')).rejects.toMatchObject({ code: 'FRAME_NOT_FOUND' });
    expect(existsSync(path.join(remote.d.home, 'data', 'frames', 'bad')), 'no frame dir').toBe(false);
    expectNoLeftovers('bad');
  }, 120_000); // a probe through a fetching hive in each colony: twice the 60 s default

  it(
    'keeper sql --into writes a new frame from SQL naming no frame and from a frame query, as on a local hive',
    async () => {
      const plain = "SELECT i AS id, i % 7 AS g, 'v' || i AS s FROM range(50000) t(i)";
      for (const fx of [local, remote]) {
        const r = await keeper(['sql', '--into', 'made', plain], fx.d.home, { timeoutMs: TEST_MS });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ frame: 'made', version: 1, rows_written: 50000 });
        const g = await keeper(['sql', '--into', 'by_g', 'SELECT g, count(*) AS n, sum(id) AS total FROM made GROUP BY g'], fx.d.home, { timeoutMs: TEST_MS });
        expect(g.exitCode, g.stderr).toBe(0);
      }
      const [ml, mr] = await both((fx) => rowsOf(fx, 'made'));
      expect(mr).toHaveLength(50000);
      expect(mr).toEqual(ml);
      const [gl, gr] = await both((fx) => rowsOf(fx, 'by_g'));
      expect(gr).toHaveLength(7);
      expect(gr).toEqual(gl);
      expectNoLeftovers('made');
      expectNoLeftovers('by_g');
    },
    TEST_MS,
  );
});

describe('a mixed colony: probes and a plain --into go to the hive that reads the queen files in place', () => {
  // The fetching hive has more room (3 bees against 2), so placement by room alone would pick it.
  const mixed = useFramesDaemon({
    tmpPrefix: 'apiary-fetchcol-mixed-',
    hive: { name: 'faraway', args: ['--fetch-cells', 'always', '--cell-cache', '64MiB', '--bees', '3'] },
  });

  it(
    'the schema probe and the COPY of a plain --into run on the in-place hive, not on the fetching one with more room',
    async () => {
      await mixed.d.waitHives(2);
      const hives = (await mixed.d.client.colony()).hives;
      const far = hives.find((h) => h.resources.name === 'faraway');
      const near = hives.find((h) => h.resources.name !== 'faraway');
      expect(far?.resources.bees).toBe(3);
      expect(near).toBeDefined();
      const dir = path.join(mixed.tmp, 'in');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'a.csv'), 'id,x\n1,1\n2,2\n');
      writeFileSync(path.join(dir, 'b.csv'), 'id,x\n3,3.5\n');
      await mixed.d.client.writeFrame('m', { path: path.join(dir, '*.csv') });
      const r = await keeper(['sql', '--into', 'plain', 'SELECT 42 AS answer'], mixed.d.home, { timeoutMs: TEST_MS });
      expect(r.exitCode, r.stderr).toBe(0);
      // The probe (its DESCRIBE) and the COPY are the only sql tasks of this colony.
      const sqlTasks = (await mixed.d.client.list('succeeded', 200)).tasks.filter((t) => t.kind === 'sql');
      expect(sqlTasks).toHaveLength(2);
      for (const t of sqlTasks) expect(t.attempts.map((a) => a.hive)).toEqual([near!.id]);
      expect((await mixed.d.client.sql('SELECT sum(x) AS s FROM m')).rows).toEqual([{ s: 6.5 }]);
      expect((await mixed.d.client.sql('SELECT answer FROM plain')).rows).toEqual([{ answer: 42 }]);
    },
    TEST_MS,
  );
});
