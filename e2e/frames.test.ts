import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiaryError, FrameDetail, FrameSummary, WriteResponse } from '@apiary/protocol';
import { CSV_COLUMNS, useFramesDaemon } from './helpers/frames-daemon.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';

/*
 * Frames on a real daemon (queen, persistent hive, two bees). --cell-bytes 64KiB makes the
 * leafcutter target tiny, so a CSV of a few MB becomes dozens of cells.
 */
// The CSVs have one more column: x, NULL on every 7th id.
const fx = useFramesDaemon({ tmpPrefix: 'apiary-frames-', columns: `${CSV_COLUMNS}, CASE WHEN range % 7 = 0 THEN NULL ELSE range * 0.5 END AS x` });
const { makeCsv, json } = fx;

/** count(*) over exactly the cells of the frame's current version, read by a bee. */
async function countCells(f: FrameDetail): Promise<number> {
  const files = f.cellList.map((c) => `'${path.join(f.dataRoot, c.path)}'`).join(', ');
  const r = await keeper(['sql', `SELECT count(*) AS n FROM read_parquet([${files}])`, '--format', 'json'], fx.d.home);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { n: number }[])[0]!.n;
}

const frameDir = (name: string) => path.join(fx.d.home, 'data', 'frames', name);

describe('frames: writes, catalog, atomic versions', () => {
  it('writes a CSV as many cells (version 1), appends (version 2), overwrites (version 3), lists, describes and drops', async () => {
    await makeCsv('a.csv', 0, 100_000);
    // A relative path is resolved against the keeper's cwd.
    const w1 = await json<WriteResponse>(['write', 'events', 'a.csv'], fx.tmp);
    expect(w1).toMatchObject({ frame: 'events', version: 1, rows_written: 100_000 });
    expect(w1.cells_written).toBeGreaterThan(1);
    expect(w1.bytes_written).toBeGreaterThan(0);
    expect(w1.temperature.level).toMatch(/cold|ideal|warm|hot|critical/);

    const f1 = await json<FrameDetail>(['frames', 'describe', 'events']);
    expect(f1.schema.map((c) => c.name)).toEqual(['id', 'g', 's', 'x']);
    expect(f1.cellList).toHaveLength(w1.cells_written);
    expect(f1.cellList.reduce((n, c) => n + c.rows, 0)).toBe(100_000);
    // Leafcutter: cells near the 64 KiB target, never above max (2x).
    for (const c of f1.cellList) expect(c.bytes).toBeLessThanOrEqual(128 * 1024 + 16 * 1024);
    // A sorted column: each cell's [min, max] is ordered and follows the previous cell's.
    let prevMax = -1;
    for (const c of f1.cellList) {
      const s = c.stats.id!;
      expect(s.min as number).toBeLessThanOrEqual(s.max as number);
      expect(s.min as number).toBeGreaterThan(prevMax);
      expect(s.null_count).toBe(0);
      prevMax = s.max as number;
    }
    const col = Object.fromEntries(f1.columns.map((c) => [c.name, c]));
    expect(col.id).toMatchObject({ min: 0, max: 99_999, null_count: 0 });
    expect(col.g).toMatchObject({ min: 0, max: 9 });
    expect(col.x!.null_count).toBe(Math.ceil(100_000 / 7));
    // Cells are where the catalog says, with the recorded checksum.
    const c0 = f1.cellList[0]!;
    expect(c0.path).toMatch(/^frames\/events\/cells\/[\w-]+\.parquet$/);
    expect(
      createHash('sha256')
        .update(readFileSync(path.join(f1.dataRoot, c0.path)))
        .digest('hex'),
    ).toBe(c0.sha256);
    expect(await countCells(f1)).toBe(100_000);

    await makeCsv('b.csv', 100_000, 150_000);
    const w2 = await json<WriteResponse>(['write', 'events', path.join(fx.tmp, 'b.csv'), '--mode', 'append']);
    expect(w2).toMatchObject({ version: 2, rows_written: 50_000 });
    const f2 = await json<FrameDetail>(['frames', 'describe', 'events']);
    expect(f2).toMatchObject({ version: 2, versions: 2, rows: 150_000, cells: w1.cells_written + w2.cells_written });
    expect(await countCells(f2)).toBe(150_000);

    await makeCsv('c.csv', 500_000, 520_000);
    const w3 = await json<WriteResponse>(['write', 'events', path.join(fx.tmp, 'c.csv'), '--mode', 'overwrite']);
    expect(w3).toMatchObject({ version: 3, rows_written: 20_000 });
    const f3 = await json<FrameDetail>(['frames', 'describe', 'events']);
    expect(f3).toMatchObject({ version: 3, rows: 20_000, cells: w3.cells_written });
    expect(f3.columns.find((c) => c.name === 'id')).toMatchObject({ min: 500_000, max: 519_999 });
    // Retention (--keep-versions, default 2): version 1 went when version 3 committed.
    expect(f3.history.map((v) => [v.version, v.mode, v.rows])).toEqual([
      [2, 'append', 150_000],
      [3, 'overwrite', 20_000],
    ]);
    expect(await countCells(f3)).toBe(20_000);

    const list = await json<FrameSummary[]>(['frames']);
    expect(list.find((f) => f.name === 'events')).toMatchObject({ version: 3, versions: 2, rows: 20_000, cells: w3.cells_written, bytes: w3.bytes_written });
    const table = await keeper(['frames'], fx.d.home);
    expect(table.stdout).toMatch(/events\s+│\s+3\s+│\s+2\s+│\s+20000/);
    const described = await keeper(['frames', 'describe', 'events'], fx.d.home);
    expect(described.stdout).toMatch(/id\s+│ BIGINT\s+│ 500000\s+│ 519999/);

    const drop = await keeper(['frames', 'drop', 'events'], fx.d.home);
    expect(drop.exitCode, drop.stderr).toBe(0);
    expect(drop.stdout).toMatch(/dropped frame events/);
    expect((await json<FrameSummary[]>(['frames'])).some((f) => f.name === 'events')).toBe(false);
    expect(existsSync(frameDir('events'))).toBe(false);
    const again = await keeper(['frames', 'describe', 'events'], fx.d.home);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/FRAME_NOT_FOUND/);
  });

  it('partitions by a column (every cell holds one value), reads json, and spreads a glob over several bees as one version', async () => {
    await makeCsv('p.csv', 0, 60_000);
    const wp = await json<WriteResponse>(['write', 'parts', path.join(fx.tmp, 'p.csv'), '--partition-by', 'g']);
    expect(wp.rows_written).toBe(60_000);
    const fp = await json<FrameDetail>(['frames', 'describe', 'parts']);
    expect(fp.cellList.length).toBeGreaterThanOrEqual(10);
    for (const c of fp.cellList) expect(c.stats.g!.min).toBe(c.stats.g!.max);

    const jsonFile = path.join(fx.tmp, 'j.ndjson');
    writeFileSync(jsonFile, Array.from({ length: 500 }, (_, i) => JSON.stringify({ k: i, v: `v${i}` })).join('\n') + '\n');
    const wj = await json<WriteResponse>(['write', 'docs', jsonFile]);
    expect(wj).toMatchObject({ version: 1, rows_written: 500 });

    const dir = path.join(fx.tmp, 'many');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (let i = 0; i < 4; i++) await makeCsv(`many/m${i}.csv`, i * 10_000, (i + 1) * 10_000);
    const wg = await json<WriteResponse>(['write', 'many', path.join(dir, 'm*.csv')]);
    expect(wg).toMatchObject({ version: 1, rows_written: 40_000 });
    const tasks = (await fx.d.client.list(undefined, 20)).tasks.filter((t) => t.kind === 'write' && t.state === 'succeeded');
    const bees = new Set(tasks.slice(0, 2).map((t) => `${t.attempts[0]!.hive}/${t.attempts[0]!.bee}`));
    expect(bees.size, 'the glob was spread over both bees').toBe(2);
    const fg = await json<FrameDetail>(['frames', 'describe', 'many']);
    expect(fg.columns.find((c) => c.name === 'id')).toMatchObject({ min: 0, max: 39_999 });
    expect(existsSync(path.join(frameDir('many'), 'staging'))).toBe(false);
  });

  it('takes an upload: keeper write --upload streams the file over HTTP and it becomes a version', async () => {
    await makeCsv('up.csv', 0, 30_000);
    const w = await json<WriteResponse>(['write', 'uploaded', path.join(fx.tmp, 'up.csv'), '--upload']);
    expect(w).toMatchObject({ frame: 'uploaded', version: 1, rows_written: 30_000 });
    const f = await fx.d.client.frame('uploaded');
    expect(await countCells(f)).toBe(30_000);
    // the uploaded bytes themselves are not kept: only the cells
    expect(existsSync(path.join(fx.d.home, 'data', 'uploads')) ? readdirSync(path.join(fx.d.home, 'data', 'uploads')) : []).toEqual([]);
  });

  it('refuses a bad frame name and a missing input with clear codes, and records no version', async () => {
    const bad = await keeper(['write', 'Bad-Name', path.join(fx.tmp, 'a.csv')], fx.d.home);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/FRAME_NAME_INVALID/);
    const badDescribe = await keeper(['frames', 'describe', '9lives'], fx.d.home);
    expect(badDescribe.exitCode).toBe(2);

    const missing = await keeper(['write', 'ghost', path.join(fx.tmp, 'nope.csv')], fx.d.home);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/INPUT_NOT_FOUND: no such input file: .*nope\.csv/);
    const noMatch = await keeper(['write', 'ghost', path.join(fx.tmp, 'nothing-*.csv')], fx.d.home);
    expect(noMatch.exitCode).toBe(1);
    expect(noMatch.stderr).toMatch(/INPUT_NOT_FOUND: no file matches/);
    expect((await json<FrameSummary[]>(['frames'])).some((f) => f.name === 'ghost')).toBe(false);
    expect(existsSync(frameDir('ghost'))).toBe(false);

    // Over HTTP the same checks hold, with their status codes.
    const res = await fetch(`${fx.d.url}/v1/frames/NO/write`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.d.token('client')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/x.csv' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'FRAME_NAME_INVALID' });
  });

  it('a write whose bee is SIGKILLed half-way fails; the previous version is intact and nothing is left behind', async () => {
    await makeCsv('keep.csv', 0, 30_000);
    const v1 = await fx.d.client.writeFrame('sturdy', { path: path.join(fx.tmp, 'keep.csv') });
    expect(v1.version).toBe(1);
    const before = await fx.d.client.frame('sturdy');
    const cellFiles = () => readdirSync(path.join(frameDir('sturdy'), 'cells')).sort();
    const cellsBefore = cellFiles();

    await makeCsv('big.csv', 0, 3_000_000);
    const write = fx.d.client.writeFrame('sturdy', { path: path.join(fx.tmp, 'big.csv'), maxAttempts: 1 }).then(
      (r) => ({ ok: true as const, r }),
      (e: ApiaryError) => ({ ok: false as const, e }),
    );
    // The busy bee running the write task: found through the API, as an operator would.
    const pid = await waitFor(
      async () => {
        const { tasks } = await fx.d.client.list('running', 10);
        const t = tasks.find((x) => x.kind === 'write');
        if (!t) return undefined;
        const bee = (await fx.d.client.colony()).hives.flatMap((h) => h.bees).find((b) => b.state === 'busy' && b.taskId === t.id);
        return bee?.pid ?? undefined;
      },
      20_000,
      'a bee running the write',
    );
    await waitFor(() => existsSync(path.join(frameDir('sturdy'), 'staging')), 10_000, 'the write to stage');
    process.kill(pid, 'SIGKILL');

    const out = await write;
    expect(out.ok, 'the write must fail').toBe(false);
    if (!out.ok) expect(out.e.code).toBe('BEE_CRASHED');

    const after = await fx.d.client.frame('sturdy');
    expect(after).toMatchObject({ version: 1, versions: 1, rows: 30_000 });
    expect(after.cellList).toEqual(before.cellList);
    expect(await countCells(after)).toBe(30_000);
    expect(existsSync(path.join(frameDir('sturdy'), 'staging')), 'no staging dir').toBe(false);
    expect(cellFiles(), 'no stray cell file').toEqual(cellsBefore);
    // The colony replaced the bee and takes work again.
    await fx.d.waitHives(1);
    const w2 = await fx.d.client.writeFrame('sturdy', { path: path.join(fx.tmp, 'keep.csv') });
    expect(w2).toMatchObject({ version: 2, rows_written: 30_000 });
  });

  it('works ephemerally: keeper write without a queen starts a colony, writes, and leaves nothing behind', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-frames-eph-'));
    try {
      writeFileSync(path.join(fx.tmp, 'e.csv'), 'a,b\n1,x\n2,y\n3,z\n');
      const r = await keeper(['write', 'eph', 'e.csv', '--bees', '1', '--memory-per-bee', '256MiB', '--json'], home, { cwd: fx.tmp });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ frame: 'eph', version: 1, cells_written: 1, rows_written: 3 });
      expect(pidsWithHome(home)).toEqual([]);
      expect(readdirSync(home)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
