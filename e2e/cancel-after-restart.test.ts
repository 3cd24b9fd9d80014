import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS, QUEEN_DEFAULTS, TASK_ABORT_GRACE_MS } from './helpers/timing.js';

const MOD = path.join(ROOT, 'e2e/fixtures/output-tasks.mjs');
/** A busy loop: it cannot honour ctx.signal, so only the kill after the abort grace stops it. */
const spin = (file: string) => ({ kind: 'js' as const, module: MOD, export: 'ignoreSignal', args: { file, ms: 120_000 } });

/**
 * The busy loop's pid once its file holds one: writeFileSync creates the file before it writes, so
 * a file that merely exists can still be empty (read as pid 0, "not alive": a failure seen in CI).
 */
const pidIn = (file: string): number | false => {
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  return pid > 0 ? pid : false;
};

/** A cancelled busy loop's bee is killed once the abort grace runs out; its exit is seen within a load margin. */
const KILL_WITHIN_MS = TASK_ABORT_GRACE_MS + LOAD_MARGIN_MS;
/** The restart reclaim window (queen.ts: hiveTimeoutMs + 8 s) bounds a persistent hive's rejoin. */
const REJOIN_WITHIN_MS = QUEEN_DEFAULTS.hiveTimeoutMs + 8000 + LOAD_MARGIN_MS;
/** A hive's start and a bee's fork on a loaded 2-core machine. */
const HIVE_START_ALLOWANCE_MS = 30_000;
/**
 * The test that freezes its hive across the restart runs `keeper queen stop` while the hive is
 * stopped: the old queen must not declare it lost first (with the default 3 s, a keeper start on a
 * loaded machine lost that race). A hive timeout that covers a keeper run under load.
 */
const FROZEN_HIVE_TIMEOUT_MS = 20_000;
const FROZEN_REJOIN_WITHIN_MS = FROZEN_HIVE_TIMEOUT_MS + 8000 + LOAD_MARGIN_MS;
const TEST_TIMEOUT_MS = 120_000;

/**
 * After `keeper queen stop --keep-hives` and a restart on the same port, a separately started
 * (persistent) hive rejoins. A cancel of a JS task on it must still reach it: the task ends
 * TASK_CANCELLED and the bee running it is killed after the abort grace. Both a task the hive held
 * across the restart (reclaimed in hello), one cancelled before its hive rejoined (the hello names
 * a settled attempt: the queen tells the hive to drop it), and one assigned after the rejoin.
 * Each cancel waits for the busy loop's pid file: a task cancelled while its bee still loads the
 * module never starts (js-task.ts) and ends TASK_CANCELLED with no kill, which is not the path here.
 */
describe('cancel after a queen restart with --keep-hives', () => {
  let d: TestDaemon | null = null;
  let tmp = '';
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-cancel-restart-'));
  });
  afterEach(async () => {
    try {
      await d?.stop();
    } finally {
      d = null;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** A daemon with no local hive and one persistent hive, stopped with --keep-hives and restarted. */
  const restartedWithPersistentHive = async (beforeStop?: (d: TestDaemon) => Promise<void>) => {
    const daemon = await TestDaemon.start(['--no-local-hive']);
    d = daemon;
    const hive = daemon.startHive('persist');
    await daemon.waitHives(1, HIVE_START_ALLOWANCE_MS);
    await beforeStop?.(daemon);
    const stop = await keeper(['queen', 'stop', '--keep-hives'], daemon.home);
    expect(stop.exitCode, stop.stderr).toBe(0);
    await waitGone([daemon.queen!.pid!], LOAD_MARGIN_MS);
    expect(alive(hive.pid!)).toBe(true);
    await daemon.startQueen();
    await waitFor(
      async () => (await daemon.client.colony()).hives.some((h) => h.resources.name === 'persist'),
      REJOIN_WITHIN_MS,
      'the persistent hive to rejoin',
    );
    return { daemon, hive };
  };

  /** Cancel a running task and check it ends TASK_CANCELLED and its bee (pid in `file`) is killed in time. */
  const cancelAndExpectKill = async (daemon: TestDaemon, taskId: string, file: string) => {
    const beePid = Number(readFileSync(file, 'utf8'));
    expect(alive(beePid)).toBe(true);
    const cancelled = await daemon.client.cancel(taskId);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.error?.code).toBe('TASK_CANCELLED');
    await waitGone([beePid], KILL_WITHIN_MS);
    // The hive's late report of the killed attempt (fenced: the task is settled) changes nothing.
    expect((await daemon.client.get(taskId)).error?.code).toBe('TASK_CANCELLED');
  };

  it(
    'a busy loop the hive held across the restart is cancelled: TASK_CANCELLED, and its bee is killed within the abort grace',
    async () => {
      const file = path.join(tmp, 'held.pid');
      let id = '';
      const { daemon, hive } = await restartedWithPersistentHive(async (q) => {
        id = (await q.client.submit(spin(file), { maxAttempts: 1 })).id;
        await waitFor(() => pidIn(file), HIVE_START_ALLOWANCE_MS, 'the busy loop to write its pid');
      });
      // Reclaimed, not lost: still running on its first attempt.
      const t = await daemon.client.get(id);
      expect(t.state, JSON.stringify(t.error)).toBe('running');
      expect(t.attempts).toHaveLength(1);
      await cancelAndExpectKill(daemon, id, file);
      expect(alive(hive.pid!)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a busy loop cancelled while the restarted queen waits for its hive: the hive is told when it rejoins, and the bee is killed',
    async () => {
      const file = path.join(tmp, 'unclaimed.pid');
      const daemon = await TestDaemon.start(['--no-local-hive', '--hive-timeout', `${FROZEN_HIVE_TIMEOUT_MS}ms`]);
      d = daemon;
      const hive = daemon.startHive('persist');
      let frozen = false;
      try {
        await daemon.waitHives(1, HIVE_START_ALLOWANCE_MS);
        const { id } = await daemon.client.submit(spin(file), { maxAttempts: 1 });
        await waitFor(() => pidIn(file), HIVE_START_ALLOWANCE_MS, 'the busy loop to write its pid');
        // The hive is frozen across the restart, so the cancel lands before it can rejoin.
        process.kill(hive.pid!, 'SIGSTOP');
        frozen = true;
        const stop = await keeper(['queen', 'stop', '--keep-hives'], daemon.home);
        expect(stop.exitCode, stop.stderr).toBe(0);
        await waitGone([daemon.queen!.pid!], LOAD_MARGIN_MS);
        await daemon.startQueen();
        expect((await daemon.client.colony()).hives).toEqual([]);
        const cancelled = await daemon.client.cancel(id);
        expect(cancelled.error?.code).toBe('TASK_CANCELLED');
        const beePid = Number(readFileSync(file, 'utf8'));
        expect(alive(beePid)).toBe(true);
        process.kill(hive.pid!, 'SIGCONT');
        frozen = false;
        await waitFor(
          async () => (await daemon.client.colony()).hives.some((h) => h.resources.name === 'persist'),
          FROZEN_REJOIN_WITHIN_MS,
          'the persistent hive to rejoin',
        );
        // Its hello names the attempt; the queen finds it cancelled and tells the hive to drop it.
        await waitGone([beePid], KILL_WITHIN_MS);
        expect((await daemon.client.get(id)).error?.code).toBe('TASK_CANCELLED');
        expect(alive(hive.pid!)).toBe(true);
      } finally {
        if (frozen) process.kill(hive.pid!, 'SIGCONT');
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a busy loop assigned after the rejoin is cancelled: TASK_CANCELLED, and its bee is killed within the abort grace',
    async () => {
      const { daemon, hive } = await restartedWithPersistentHive();
      const file = path.join(tmp, 'after.pid');
      const { id } = await daemon.client.submit(spin(file), { maxAttempts: 1 });
      await waitFor(() => pidIn(file), HIVE_START_ALLOWANCE_MS, 'the busy loop to write its pid');
      await cancelAndExpectKill(daemon, id, file);
      expect(alive(hive.pid!)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
