import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { TestDaemon } from './daemon.js';
import { keeper } from './keeper.js';
import { pidsWithHome } from './procs.js';

/**
 * The daemon the frames test files share (queen, persistent hive, two bees): --cell-bytes 64KiB
 * makes the leafcutter's target tiny, so a CSV of a few MB becomes dozens of cells.
 */
export const FRAMES_DAEMON_ARGS = ['--bees', '2', '--memory-per-bee', '256MiB', '--cell-bytes', '64KiB', '--min-cell-bytes', '16KiB'];

/** The CSV columns over DuckDB's `range`: id (sorted), g = id % 10, s = 'name_<id>'. */
export const CSV_COLUMNS = "range AS id, range % 10 AS g, 'name_' || range AS s";

export interface FramesDaemon {
  /** The daemon (started in beforeAll, with a copy of FRAMES_DAEMON_ARGS a test may edit before a restart). */
  readonly d: TestDaemon;
  /** A temp dir for the test's files, removed in afterAll. */
  readonly tmp: string;
  /** A CSV in tmp of rows [from, to) ordered by id, written by a bee (keeper sql COPY). */
  makeCsv(name: string, from: number, to: number): Promise<string>;
  /** `keeper ARGS --json` against the daemon (from cwd): exit 0 asserted, stdout parsed. */
  json<T>(args: string[], cwd?: string): Promise<T>;
}

/**
 * Call at the top of a test file (or of a describe): starts the daemon once for it (beforeAll,
 * waiting for its one hive) and stops it after (afterAll), asserting no process of its home and no
 * temp dir is left.
 */
export interface FramesDaemonOptions {
  tmpPrefix: string;
  /** makeCsv's select list over `range` (default CSV_COLUMNS). */
  columns?: string;
  /** Queen arguments after FRAMES_DAEMON_ARGS (e.g. --no-local-hive). */
  extraArgs?: string[];
  /** A hive started separately, as on another machine (name and its extra arguments). */
  hive?: { name: string; args: string[] };
}

export function useFramesDaemon(o: FramesDaemonOptions): FramesDaemon {
  let d: TestDaemon | undefined;
  let tmp = '';
  const need = <T>(v: T | undefined | '', what: string): T => {
    if (v === undefined || v === '') throw new Error(`frames daemon: ${what} is not set up (beforeAll failed?)`);
    return v;
  };
  const f: FramesDaemon = {
    get d() {
      return need(d, 'the daemon');
    },
    get tmp() {
      return need(tmp, 'the temp dir');
    },
    async makeCsv(name, from, to) {
      const file = path.join(f.tmp, name);
      const sql = `COPY (SELECT ${o.columns ?? CSV_COLUMNS} FROM range(${from}, ${to}) ORDER BY id) TO '${file}' (HEADER)`;
      const r = await keeper(['sql', sql], f.d.home, { timeoutMs: 120_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      return file;
    },
    async json<T>(args: string[], cwd?: string) {
      const r = await keeper([...args, '--json'], f.d.home, { cwd });
      expect(r.exitCode, `keeper ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as T;
    },
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), o.tmpPrefix));
    d = await TestDaemon.start([...FRAMES_DAEMON_ARGS, ...(o.extraArgs ?? [])]);
    if (o.hive) d.startHive(o.hive.name, o.hive.args);
    await d.waitHives(1);
  }, 60_000);

  afterAll(async () => {
    const home = d?.home;
    try {
      await d?.stop();
      if (home) expect(pidsWithHome(home)).toEqual([]);
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    if (tmp) expect(existsSync(tmp)).toBe(false);
  });

  return f;
}
