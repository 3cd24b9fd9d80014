import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiaryError, FrameDetail, FrameSummary, SqlResponse, VacuumResponse } from '@apiary/protocol';
import { FRAMES_DAEMON_ARGS, useFramesDaemon } from './helpers/frames-daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

/*
 * Version GC on a real daemon (queen, local hive, two bees, real DuckDB and SQLite): retention after
 * each commit (the default --keep-versions), `keeper frames vacuum`, disk usage in `keeper frames`,
 * and a query that reads a version while it is superseded and vacuumed. Small cells (64 KiB) make
 * a few MB of CSV into many files.
 */
/** The queen's default retention (README: 2), read from the config that owns it. */
const KEEP = QUEEN_DEFAULTS.keepVersions;

const fx = useFramesDaemon({ tmpPrefix: 'apiary-vacuum-' });
const { makeCsv, json } = fx;

const cellsDir = (frame: string) => path.join(fx.d.home, 'data', 'frames', frame, 'cells');
/** The cell files on disk now, as paths relative to the data root (the catalog's form). */
const onDisk = (frame: string) =>
  readdirSync(cellsDir(frame))
    .map((f) => `frames/${frame}/cells/${f}`)
    .sort();
const sizeOf = (rels: string[]) => rels.reduce((n, rel) => n + statSync(path.join(fx.d.home, 'data', rel)).size, 0);
const cellsOf = (f: FrameDetail) => f.cellList.map((c) => c.path).sort();

/** Write `file` as a new version of `frame` (overwrite) and return the version's cells. */
async function overwrite(frame: string, file: string): Promise<{ version: number; cells: string[] }> {
  const w = await fx.d.client.writeFrame(frame, { path: file, mode: 'overwrite' });
  const f = await fx.d.client.frame(frame);
  expect(f.version).toBe(w.version);
  return { version: w.version, cells: cellsOf(f) };
}

describe('frames: version retention and vacuum', () => {
  it(`overwriting ${KEEP + 2} times leaves only the last ${KEEP} versions' cells on disk; keeper frames shows the real sizes`, async () => {
    expect(KEEP).toBe(2); // README states the default
    const files = await Promise.all([0, 1, 2, 3].map((i) => makeCsv(`r${i}.csv`, i * 1000, i * 1000 + 20_000 + i * 5000)));
    const written: { version: number; cells: string[] }[] = [];
    for (const file of files) {
      written.push(await overwrite('rolling', file));
      // Retention runs with every commit: after each write, exactly the last KEEP versions' cells remain.
      const kept = written.slice(-KEEP);
      expect(onDisk('rolling')).toEqual(kept.flatMap((v) => v.cells).sort());
      expect((await fx.d.client.frame('rolling')).history.map((v) => v.version)).toEqual(kept.map((v) => v.version));
    }
    expect(written.map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(written.every((v) => v.cells.length > 1)).toBe(true);

    const list = await json<FrameSummary[]>(['frames']);
    const rolling = list.find((f) => f.name === 'rolling')!;
    const current = written[3]!.cells;
    expect(rolling).toMatchObject({ version: 4, versions: KEEP, cells: current.length, bytes: sizeOf(current), diskBytes: sizeOf(onDisk('rolling')) });
    expect(rolling.diskBytes).toBe(sizeOf([...written[2]!.cells, ...current]));
    const table = await keeper(['frames'], fx.d.home);
    expect(table.stdout).toMatch(/on_disk/);
    const describe = await keeper(['frames', 'describe', 'rolling'], fx.d.home);
    expect(describe.stdout).toMatch(new RegExp(`version 4 \\(${KEEP} kept\\).*on disk`));

    // Nothing is past the line any more: a vacuum removes nothing and deletes no file.
    const v = await json<VacuumResponse>(['frames', 'vacuum', 'rolling']);
    expect(v).toEqual({ keep: KEEP, frames: [{ frame: 'rolling', versions_removed: [], versions_deferred: [], cells_deleted: 0, bytes_freed: 0 }] });
    expect(onDisk('rolling')).toEqual([...written[2]!.cells, ...current].sort());
  });

  it('a query reading a superseded, vacuumed version succeeds with its answer; its cells go once it ends', { timeout: 300_000 }, async () => {
    const ROWS = 400_000;
    const v1 = await overwrite('pinned', await makeCsv('big.csv', 0, ROWS));
    const small = await makeCsv('small.csv', 0, 10);
    // Slow on purpose (md5 of ~10 KB per row, every row kept: no md5 is 'x'), so the query is still
    // reading version 1 while two writes and a vacuum run. count(DISTINCT) makes it a whole plan: one
    // bee runs it and the other is free for the writes. The answer is version 1's.
    const slow = `SELECT count(DISTINCT id) AS n, max(id) AS top FROM pinned WHERE md5(repeat(s, 1000)) <> 'x'`;
    let ended = false;
    // Settled either way, so a failure is this test's assertion, not an unhandled rejection.
    const query = fx.d.client
      .sql(slow, { limits: { timeoutMs: 240_000 } })
      .then(
        (r: SqlResponse) => ({ r, error: '' }),
        (e: unknown) => ({ r: null, error: String(e) }),
      )
      .finally(() => {
        ended = true;
      });
    try {
      // The query is out once its first fsql task (a step over version 1's cells) is running.
      await waitFor(async () => (await fx.d.client.list('running', 200)).tasks.some((t) => t.kind === 'fsql'), 60_000, 'the slow query running');
      const v2 = await overwrite('pinned', small);
      const v3 = await overwrite('pinned', small);
      const vac = await json<VacuumResponse>(['frames', 'vacuum', 'pinned']);
      if (ended) expect((await query).error, 'the query ended before the vacuum').toBe('');
      expect(ended, 'the query ended before the vacuum: the test did not overlap them (make it slower)').toBe(false);
      // Version 1 is past the line but read: kept, cells and all.
      expect(vac.frames).toEqual([{ frame: 'pinned', versions_removed: [], versions_deferred: [1], cells_deleted: 0, bytes_freed: 0 }]);
      expect(onDisk('pinned')).toEqual([...v1.cells, ...v2.cells, ...v3.cells].sort());
      const { r, error } = await query;
      expect(error).toBe('');
      expect(r!.explain).toMatch(/plan: whole/);
      expect(r!.rows).toEqual([{ n: ROWS, top: ROWS - 1 }]);
      // The last unpin removes version 1 and its files.
      await waitFor(() => onDisk('pinned').length === v2.cells.length + v3.cells.length, LOAD_MARGIN_MS, "version 1's cells deleted");
      expect(onDisk('pinned')).toEqual([...v2.cells, ...v3.cells].sort());
      expect((await fx.d.client.frame('pinned')).history.map((v) => v.version)).toEqual([2, 3]);
      expect((await fx.d.client.frames()).frames.find((f) => f.name === 'pinned')!.diskBytes).toBe(sizeOf(onDisk('pinned')));
    } finally {
      await query;
    }
  });

  it('keeper frames vacuum without a frame vacuums every frame (here after the queen restarts keeping 1 version)', { timeout: 180_000 }, async () => {
    const file = await makeCsv('each.csv', 0, 5000);
    const last: Record<string, string[]> = {};
    // Two versions each: both kept at the default.
    for (const frame of ['va', 'vb']) for (let i = 0; i < 2; i++) last[frame] = (await overwrite(frame, file)).cells;
    const restart = async (extra: string[]) => {
      if (alive(fx.d.queen!.pid!)) {
        const stop = await keeper(['queen', 'stop', '--keep-hives'], fx.d.home);
        expect(stop.exitCode, stop.stderr).toBe(0);
        await waitGone([fx.d.queen!.pid!], 20_000);
      }
      fx.d.args.splice(FRAMES_DAEMON_ARGS.length, Infinity, ...extra);
      await fx.d.startQueen();
      await fx.d.waitHives(1);
    };
    try {
      await restart(['--keep-versions', '1']);
      const v = await json<VacuumResponse>(['frames', 'vacuum']);
      expect(v.keep).toBe(1);
      const byName = Object.fromEntries(v.frames.map((f) => [f.frame, f]));
      for (const frame of ['va', 'vb']) {
        expect(byName[frame]).toMatchObject({ versions_removed: [1], versions_deferred: [] });
        expect(byName[frame]!.cells_deleted).toBeGreaterThan(0);
        expect(onDisk(frame)).toEqual([...last[frame]!].sort());
      }
      const text = await keeper(['frames', 'vacuum'], fx.d.home);
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/keeping the last 1 version of each frame\n(.*\n)*va: nothing to remove/);
    } finally {
      await restart([]);
    }
    expect(alive(fx.d.queen!.pid!)).toBe(true);
  });

  it('an unknown frame is FRAME_NOT_FOUND (exit 1, HTTP 404); a bad name FRAME_NAME_INVALID (exit 2); a read token may not vacuum', async () => {
    const ghost = await keeper(['frames', 'vacuum', 'ghost'], fx.d.home);
    expect(ghost.exitCode).toBe(1);
    expect(ghost.stderr).toMatch(/FRAME_NOT_FOUND/);
    const err = (await fx.d.client.vacuumFrames('ghost').catch((e: unknown) => e)) as ApiaryError;
    expect(err).toMatchObject({ code: 'FRAME_NOT_FOUND' });
    const vacuumAs = (token: string, body: unknown) =>
      fetch(`${fx.d.url}/v1/frames/vacuum`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const res = await vacuumAs(fx.d.token('client'), { frame: 'ghost' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'FRAME_NOT_FOUND' });
    // Scope submit (route-scopes.ts): a read token is refused, a submit token vacuums.
    const read = await fx.d.client.createToken('read', 'vacuum-read');
    const submit = await fx.d.client.createToken('submit', 'vacuum-submit');
    try {
      const refused = await vacuumAs(read.token, {});
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'FORBIDDEN' });
      const ok = await vacuumAs(submit.token, {});
      expect(ok.status).toBe(200);
    } finally {
      await fx.d.client.revokeToken(read.id);
      await fx.d.client.revokeToken(submit.id);
    }
    const bad = await keeper(['frames', 'vacuum', 'Bad-Name'], fx.d.home);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/FRAME_NAME_INVALID/);
  });
});
