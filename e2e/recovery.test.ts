import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TASKS, tempHome } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive, killAll, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** Queen default hiveTimeoutMs (shared/config/src/queen-config.ts) and the restart reclaim window (queen.ts). */
const HIVE_TIMEOUT_MS = 3000;
const RECLAIM_WINDOW_MS = HIVE_TIMEOUT_MS + 8000;
/** A hive's start or rejoin on a loaded 2-core machine. */
const HIVE_START_ALLOWANCE_MS = 30_000;
const TEST_TIMEOUT_MS = 120_000;

describe('recovery after crashes', () => {
  let d: TestDaemon | null = null;
  let tmp = '';
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-recovery-'));
  });
  afterEach(async () => {
    await d?.stop();
    d = null;
    rmSync(tmp, { recursive: true, force: true });
    expect(existsSync(tmp)).toBe(false);
  });

  it(
    'a task that finishes on a persistent hive while the queen is down, and one still running at restart, are reclaimed by the restarted queen: each ran exactly once',
    async () => {
      d = await TestDaemon.start();
      await d.waitHives(1);
      const hivePid = (await d.client.colony()).hives[0]!.resources.pid;
      const shortFile = path.join(tmp, 'short.runs');
      const longFile = path.join(tmp, 'long.runs');
      // maxAttempts 3 (the default, explicit here): a lost reclaim would show as a second run, not a failure.
      const short = await d.client.submit(js('countedSleep', { file: shortFile, ms: 1000 }), { maxAttempts: 3 });
      const long = await d.client.submit(js('countedSleep', { file: longFile, ms: 15_000 }), { maxAttempts: 3 });
      await waitFor(() => lines(shortFile).length === 1 && lines(longFile).length === 1, 15_000, 'both tasks running');
      d.queen!.kill('SIGKILL');
      await waitGone([d.queen!.pid!], 2000);
      // The short task finishes on the hive with no queen to tell: its result waits in the hive's outbox.
      await waitFor(() => lines(shortFile).includes(`end ${lines(shortFile)[0]!.split(' ')[1]}`), 10_000, 'the short task to finish while the queen is down');
      expect(
        lines(longFile).some((l) => l.startsWith('end')),
        'the long task must still be running at restart',
      ).toBe(false);
      await d.startQueen();
      // The restarted queen adopted the same hive: nothing was re-spawned, so nothing could re-run from scratch.
      await waitFor(
        async () => (await d!.client.colony()).hives.some((h) => h.resources.pid === hivePid),
        RECLAIM_WINDOW_MS,
        'the hive to rejoin inside the reclaim window',
      );
      const s = await d.client.get(short.id, 20_000);
      expect(s.state, JSON.stringify(s.error)).toBe('succeeded');
      const l = await waitFor(
        async () => {
          const t = await d!.client.get(long.id, 5000);
          return t.state !== 'running' && t.state !== 'queued' ? t : undefined;
        },
        15_000 + RECLAIM_WINDOW_MS + HIVE_START_ALLOWANCE_MS,
        'the long task to end',
      );
      expect(l.state, JSON.stringify(l.error)).toBe('succeeded');
      for (const [t, f] of [
        [s, shortFile],
        [l, longFile],
      ] as const) {
        expect(t.attempts).toHaveLength(1);
        expect(
          lines(f).filter((x) => x.startsWith('start')),
          `${f}: runs`,
        ).toHaveLength(1);
        expect(lines(f).filter((x) => x.startsWith('end'))).toHaveLength(1);
      }
      expect(alive(hivePid)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "the daemon's start-up sweep removes stale query partials, uploads, staging dirs and unrecorded cells; committed cells are untouched",
    async () => {
      d = await TestDaemon.start();
      await d.waitHives(1);
      const csv = path.join(tmp, 'in.csv');
      writeFileSync(csv, 'id,x\n' + Array.from({ length: 1000 }, (_, i) => `${i},${i * 2}`).join('\n') + '\n');
      const w = await d.client.writeFrame('kept', { path: csv, format: 'csv' });
      expect(w).toMatchObject({ frame: 'kept', version: 1, rows_written: 1000 });
      const root = path.join(d.home, 'data'); // a daemon's data root: <APIARY_HOME>/data
      const cells = path.join(root, 'frames', 'kept', 'cells');
      const committed = Object.fromEntries(readdirSync(cells).map((c) => [c, sha(path.join(cells, c))]));
      expect(Object.keys(committed).length).toBe(w.cells_written);
      // A crash: the queen dies with a query, an upload and a write half done.
      d.queen!.kill('SIGKILL');
      await waitGone([d.queen!.pid!], 2000);
      const leftovers = {
        query: path.join(root, 'queries', 'q-1', 'part-0.parquet'),
        upload: path.join(root, 'uploads', 'u-1', 'in.csv'),
        staging: path.join(root, 'frames', 'kept', 'staging', 'w-1', 't0', 'cell.parquet'),
        stray: path.join(cells, 'half-written.parquet'),
        ghost: path.join(root, 'frames', 'ghost', 'cells', 'orphan.parquet'),
      };
      for (const f of Object.values(leftovers)) {
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, 'PAR1 truncated');
      }
      await d.startQueen();
      expect(existsSync(path.join(root, 'queries'))).toBe(false);
      expect(existsSync(path.join(root, 'uploads'))).toBe(false);
      expect(existsSync(path.join(root, 'frames', 'kept', 'staging'))).toBe(false);
      expect(existsSync(leftovers.stray)).toBe(false);
      expect(existsSync(path.join(root, 'frames', 'ghost'))).toBe(false);
      // Committed cells: same names, same bytes, and the frame still reads.
      expect(Object.fromEntries(readdirSync(cells).map((c) => [c, sha(path.join(cells, c))]))).toEqual(committed);
      await d.waitHives(1, HIVE_START_ALLOWANCE_MS);
      const r = await d.client.sql('SELECT count(*) AS n, sum(x) AS s FROM kept');
      expect(r.rows).toEqual([{ n: 1000, s: 999 * 1000 }]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "keeper sweeps the run dirs of dead keepers at start and leaves a live keeper's run dir alone",
    async () => {
      const home = tempHome();
      // A pid that is certainly dead: a process we started and reaped.
      const dead = spawnSync('true').pid!;
      expect(alive(dead)).toBe(false);
      const live = spawn('sleep', ['120'], { stdio: 'ignore' });
      try {
        const run = path.join(home, 'run');
        const deadDir = path.join(run, `${dead}-0badc0de`);
        const liveDir = path.join(run, `${live.pid}-0000beef`);
        for (const dir of [deadDir, liveDir]) {
          mkdirSync(path.join(dir, 'cache', 'scratch', 'bee-0'), { recursive: true });
          writeFileSync(path.join(dir, 'cache', 'scratch', 'bee-0', 'left.tmp'), 'x');
        }
        const r = await keeper(['sql', 'SELECT 1 AS one', '--format', 'json', '--bees', '1'], home);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual([{ one: 1 }]);
        expect(existsSync(deadDir)).toBe(false);
        expect(existsSync(path.join(liveDir, 'cache', 'scratch', 'bee-0', 'left.tmp'))).toBe(true);
        // The keeper's own run dir went at its exit; the live one remains, so run/ stays.
        expect(readdirSync(run)).toEqual([path.basename(liveDir)]);
        expect(pidsWithHome(home)).toEqual([]);
      } finally {
        live.kill('SIGKILL');
        await waitGone([live.pid!], 2000);
        killAll(pidsWithHome(home));
        rmSync(home, { recursive: true, force: true });
      }
    },
    TEST_TIMEOUT_MS,
  );
});
