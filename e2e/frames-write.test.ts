import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiaryError, FrameDetail } from '@apiary/protocol';
import { ORPHAN_POLL_MS } from '../services/bee/src/watchdog.js';
import { duckCopy } from './helpers/duck-copy.js';
import { useFramesDaemon } from './helpers/frames-daemon.js';
import { filesUnder } from './helpers/temp-dirs.js';
import { waitFor, waitGone } from './helpers/procs.js';

/*
 * Frame writes: one schema per write (a glob's files are typed together, before any cell exists),
 * and writes through a hive that cannot see the queen's data root (it fetches the inputs and sends
 * its cells back, sha256-checked by the queen, before the version commits).
 */

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('one schema per write', () => {
  const fx = useFramesDaemon({ tmpPrefix: 'apiary-schema-' });

  it('a glob whose files sniff as BIGINT in one and DOUBLE in another writes one version with DOUBLE', async () => {
    const dir = path.join(fx.tmp, 'mixed');
    // Two files of equal size, so the write spreads them over two tasks (two bees), each sniffing alone.
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.csv'), `id,x\n${Array.from({ length: 2000 }, (_, i) => `${i},${i}`).join('\n')}\n`);
    writeFileSync(path.join(dir, 'b.csv'), `id,x\n${Array.from({ length: 2000 }, (_, i) => `${2000 + i},${i}.5`).join('\n')}\n`);
    const w = await fx.d.client.writeFrame('mixed', { path: path.join(dir, '*.csv') });
    expect(w).toMatchObject({ version: 1, rows_written: 4000 });
    const f = await fx.d.client.frame('mixed');
    expect(f.schema).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'x', type: 'DOUBLE' },
    ]);
    expect((await fx.d.client.sql('SELECT sum(x) AS s, count(*) AS n FROM mixed')).rows).toEqual([{ s: 1999000 + 2000000, n: 4000 }]);
  }, 120_000); // two tasks plus a probe task on a loaded machine: twice the 60 s default

  it('a HUGEINT result written --into a frame reads back exact (as DECIMAL(38,0)); one past 38 digits fails with FRAME_VALUE_OUT_OF_RANGE', async () => {
    const src = path.join(fx.tmp, 'bigs.csv');
    writeFileSync(src, 'x\n9223372036854775807\n9223372036854775807\n1\n');
    await fx.d.client.writeFrame('bigs', { path: src });
    // sum() over BIGINT is HUGEINT: 2^64 - 1, which a DOUBLE would round to 2^64.
    await fx.d.client.sql('SELECT sum(x) AS s, 9007199254740993::HUGEINT AS odd FROM bigs', { into: 'sums' });
    expect((await fx.d.client.frame('sums')).schema).toEqual([
      { name: 's', type: 'DECIMAL(38,0)' },
      { name: 'odd', type: 'DECIMAL(38,0)' },
    ]);
    expect((await fx.d.client.sql('SELECT s::VARCHAR AS s, odd::VARCHAR AS odd FROM sums')).rows).toEqual([
      { s: '18446744073709551615', odd: '9007199254740993' },
    ]);
    const huge = 'SELECT 170141183460469231731687303715884105727::HUGEINT + count(*) * 0 AS h FROM bigs';
    await expect(fx.d.client.sql(huge, { into: 'too_big' })).rejects.toMatchObject({ code: 'FRAME_VALUE_OUT_OF_RANGE' });
    await expect(fx.d.client.frame('too_big')).rejects.toMatchObject({ code: 'FRAME_NOT_FOUND' });
  });

  it('incompatible files fail with FRAME_SCHEMA_MISMATCH naming the file and column, before any cell is written', async () => {
    const dir = path.join(fx.tmp, 'bad');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.csv'), 'id,when\n1,2026-01-01\n2,2026-01-02\n');
    writeFileSync(path.join(dir, 'b.csv'), 'id,when\n3,true\n4,false\n');
    writeFileSync(path.join(dir, 'c.csv'), 'id,other\n5,1\n');
    const frames = path.join(fx.d.home, 'data', 'frames');
    for (const [glob, file, column] of [
      ['[ab].csv', 'b.csv', 'when'],
      ['[ac].csv', 'c.csv', 'other'],
    ] as const) {
      const e = (await fx.d.client.writeFrame('bad', { path: path.join(dir, glob) }).then(
        () => null,
        (x: ApiaryError) => x,
      )) as ApiaryError | null;
      expect(e?.code, glob).toBe('FRAME_SCHEMA_MISMATCH');
      expect(e?.message).toContain(path.join(dir, file));
      expect(e?.message).toContain(`"${column}"`);
    }
    // Refused before any write task: no frame, and not even a staging dir was made.
    await expect(fx.d.client.frame('bad')).rejects.toMatchObject({ code: 'FRAME_NOT_FOUND' });
    expect(existsSync(path.join(frames, 'bad'))).toBe(false);
  });
});

/** A SIGKILLed hive's bees notice within the watchdog's poll; the margin is for a loaded machine. */
const LOAD_MARGIN_MS = 10_000;
const ORPHANS_GONE_MS = ORPHAN_POLL_MS + LOAD_MARGIN_MS;
const REMOTE_HIVE = ['--fetch-cells', 'always', '--cell-cache', '64MiB'];
/**
 * A remote write moves every input and cell over HTTP on top of the bees' work; on a loaded 2-core
 * machine one such test took ~55 s, so each gets three times the suite's 60 s default.
 */
const REMOTE_TEST_MS = 180_000;

describe("writes through a hive that cannot see the queen's data root", () => {
  // No hive on the queen's machine: the only hive fetches (forced, as on another machine).
  const fx = useFramesDaemon({ tmpPrefix: 'apiary-remote-write-', extraArgs: ['--no-local-hive'], hive: { name: 'faraway', args: REMOTE_HIVE } });
  const hiveWrites = () => path.join(fx.d.home, 'cache-faraway', 'writes');
  const frameDir = (name: string) => path.join(fx.d.home, 'data', 'frames', name);
  const csv = async (name: string, rows: number) => {
    const f = path.join(fx.tmp, name);
    await duckCopy(`COPY (SELECT i AS id, i % 10 AS g, i * 0.5 AS x FROM range(${rows}) t(i)) TO '${f}' (HEADER)`);
    return f;
  };

  it(
    'writes by path and by upload: every cell arrives in the data root with its sha256, and the hive keeps nothing',
    async () => {
      const src = await csv('nums.csv', 100_000);
      const w = await fx.d.client.writeFrame('nums', { path: src });
      expect(w).toMatchObject({ frame: 'nums', version: 1, rows_written: 100_000 });
      expect(w.cells_written).toBeGreaterThan(1);
      const f: FrameDetail = await fx.d.client.frame('nums');
      for (const c of f.cellList) expect(sha(path.join(f.dataRoot, c.path)), c.path).toBe(c.sha256);
      expect((await fx.d.client.sql('SELECT count(*) AS n, sum(id) AS s FROM nums')).rows).toEqual([{ n: 100_000, s: 4_999_950_000 }]);

      const up = await fx.d.client.uploadFrame('nums', src, { format: 'csv' });
      expect(up).toMatchObject({ version: 2, rows_written: 100_000 });
      expect((await fx.d.client.sql('SELECT count(*) AS n FROM nums')).rows).toEqual([{ n: 200_000 }]);
      expect(filesUnder(hiveWrites()), "the hive's write dir").toEqual([]);
      expect(existsSync(path.join(frameDir('nums'), 'staging')), "the queen's staging dir").toBe(false);
    },
    REMOTE_TEST_MS,
  );

  it(
    'a remote hive SIGKILLed half-way: the previous version is intact, no stray file on either side',
    async () => {
      const v1 = await fx.d.client.writeFrame('sturdy', { path: await csv('keep.csv', 30_000) });
      expect(v1.version).toBe(1);
      const before = await fx.d.client.frame('sturdy');
      const cellFiles = () => readdirSync(path.join(frameDir('sturdy'), 'cells')).sort();
      const cellsBefore = cellFiles();

      const big = await csv('big.csv', 1_500_000);
      const write = fx.d.client.writeFrame('sturdy', { path: big, maxAttempts: 1 }).then(
        (r) => ({ ok: true as const, r }),
        (e: ApiaryError) => ({ ok: false as const, e }),
      );
      // Half-way: the hive fetched the input and its bee is cutting cells in the hive's own dir.
      await waitFor(() => filesUnder(hiveWrites()).some((f) => f.includes(`${path.sep}out${path.sep}`)), 60_000, 'the remote bee cutting cells');
      const hive = fx.d.extra[fx.d.extra.length - 1]!;
      const bees = (await fx.d.client.colony()).hives.flatMap((h) => h.bees.map((b) => b.pid)).filter((p): p is number => typeof p === 'number');
      hive.kill('SIGKILL');
      await waitGone([hive.pid!, ...bees], ORPHANS_GONE_MS);

      const out = await write;
      expect(out.ok, 'the write must fail').toBe(false);
      if (!out.ok) expect(out.e.code).toBe('HIVE_LOST');

      // The queen's side: the same version, the same cell files, no staging dir.
      const after = await fx.d.client.frame('sturdy');
      expect(after).toMatchObject({ version: 1, versions: 1, rows: 30_000 });
      expect(after.cellList).toEqual(before.cellList);
      expect(cellFiles(), 'no stray cell file').toEqual(cellsBefore);
      expect(existsSync(path.join(frameDir('sturdy'), 'staging')), 'no staging dir').toBe(false);
      // The hive's side: the kill left its half-done files; the hive sweeps them when it starts again.
      expect(filesUnder(hiveWrites()).length, 'killed half-way').toBeGreaterThan(0);
      fx.d.startHive('faraway', REMOTE_HIVE);
      await fx.d.waitHives(1);
      expect(filesUnder(hiveWrites()), "the hive's write dir after its restart").toEqual([]);

      // And the colony writes again through the restarted hive.
      expect(await fx.d.client.writeFrame('sturdy', { path: path.join(fx.tmp, 'keep.csv') })).toMatchObject({ version: 2, rows_written: 30_000 });
      expect(filesUnder(hiveWrites())).toEqual([]);
    },
    REMOTE_TEST_MS,
  );
});
