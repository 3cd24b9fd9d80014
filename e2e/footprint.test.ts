import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALLOC_ENV, readProcEnviron } from '@apiary/runtime';
import { TestDaemon } from './helpers/daemon.js';
import { keeper, roleOf } from './helpers/keeper.js';
import { READY_TIMEOUT_MS } from '../services/keeper/src/colony.js';
import { KEEPER_BIN } from './helpers/colony.js';
import { killAll, pidsWithHome, waitFor } from './helpers/procs.js';

/*
 * Footprint settings a colony's processes are started with (issue 14; runtime malloc-env.ts): glibc
 * reads them once at start, so they must be in each process's own environment. The memory itself is
 * measured by the footprint bench, not asserted here (tests never assert speed or size).
 */

/** A queen's start on a loaded machine: the keeper's own wait for a ready colony (READY_TIMEOUT_MS, 15 s) twice over. */
const QUEEN_START_MS = 2 * READY_TIMEOUT_MS;

/** The environment a live process was started with (/proc/PID/environ); {} once it is gone. */
const environOf = (pid: number): Record<string, string> => readProcEnviron(pid) ?? {};

describe('footprint: malloc settings of the processes we start', () => {
  let d: TestDaemon;

  beforeAll(async () => {
    // The test process must not carry the setting itself, or inheritance alone would pass the test.
    expect(process.env.MALLOC_ARENA_MAX).toBeUndefined();
    d = await TestDaemon.start(['--bees', '2', '--memory-per-bee', '256MiB']);
  });

  afterAll(async () => {
    const home = d?.home;
    await d?.stop();
    if (home) expect(pidsWithHome(home)).toEqual([]);
  });

  it("a daemon's local hive and every bee run with MALLOC_ARENA_MAX=2", async () => {
    expect(MALLOC_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    const hive = (await d.waitIdle(2)).hives[0]!;
    expect(environOf(hive.resources.pid!).MALLOC_ARENA_MAX).toBe('2');
    for (const b of hive.bees) expect(environOf(b.pid!).MALLOC_ARENA_MAX, `bee ${b.id}`).toBe('2');
    // The bees' env is the hive's minus the secrets: no join token reaches a task.
    for (const b of hive.bees) expect(environOf(b.pid!).APIARY_JOIN_TOKEN).toBeUndefined();
  });

  it('the queen `keeper queen start --detach` starts runs with it too', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-footprint-'));
    try {
      const r = await keeper(['queen', 'start', '--detach', '--port', '0', '--bees', '1', '--memory-per-bee', '256MiB'], home, { timeoutMs: 60_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      const state = JSON.parse(readFileSync(path.join(home, 'queen.json'), 'utf8')) as { pid: number };
      expect(environOf(state.pid).MALLOC_ARENA_MAX).toBe('2');
    } finally {
      await keeper(['queen', 'stop'], home, { timeoutMs: 60_000 });
      try {
        expect(pidsWithHome(home)).toEqual([]);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  });

  it('the queen `keeper queen start` runs in the foreground runs with it too', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-footprint-'));
    const run = execa(process.execPath, [KEEPER_BIN, 'queen', 'start', '--port', '0', '--bees', '1', '--memory-per-bee', '256MiB'], {
      reject: false,
      stdin: 'ignore',
      env: { APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn' },
    });
    try {
      const queen = await waitFor(() => pidsWithHome(home).find((p) => roleOf(p) === 'queen'), QUEEN_START_MS, 'the foreground queen');
      expect(environOf(queen).MALLOC_ARENA_MAX).toBe('2');
    } finally {
      // The keeper forwards SIGTERM to its queen and waits for the queen's cascade.
      run.kill('SIGTERM');
      await run;
      const left = pidsWithHome(home);
      killAll(left);
      rmSync(home, { recursive: true, force: true });
      expect(left, 'processes left behind').toEqual([]);
    }
  });
});
