import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonPaths, processStartTime, readDaemonState, writeDaemonState } from '@apiary/config';
import { tempHome } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { alive, killAll, pidsWithHome, waitGone } from './helpers/procs.js';

/** A daemon start and stop on a loaded 2-core machine: queen, then a hive with one bee. */
const TEST_TIMEOUT_MS = 120_000;
/** `queen stop` returns once the queen is gone; its hive and bee follow within the stop cascade. */
const STOP_GONE_MS = 10_000;

describe('daemon liveness', () => {
  it(
    'keeper queen start starts a new queen when queen.json names a pid now used by another process (start time differs), and leaves that process alone',
    async () => {
      const home = tempHome();
      const p = daemonPaths(home);
      // A live process standing in for whatever the kernel gave the dead queen's pid to.
      const other = spawn('sleep', ['120'], { stdio: 'ignore' });
      try {
        const pid = other.pid!;
        writeDaemonState(p, { url: 'http://127.0.0.1:1', pid, startedAt: Date.now(), startTime: processStartTime(pid)! - 1 });
        expect(readDaemonState(p)).toBeNull();

        const start = await keeper(['queen', 'start', '--detach', '--port', '0', '--bees', '1', '--memory-per-bee', '256MiB'], home);
        expect(start.exitCode, start.stdout + start.stderr).toBe(0);
        expect(start.stdout).not.toContain('already running');
        const queen = Number(/queen started: pid (\d+)/.exec(start.stdout)?.[1]);
        expect(queen).toBeGreaterThan(0);
        expect(queen).not.toBe(pid);
        expect(readDaemonState(p)).toMatchObject({ pid: queen, startTime: processStartTime(queen) });

        const everything = pidsWithHome(home);
        const stop = await keeper(['queen', 'stop'], home);
        expect(stop.exitCode, stop.stderr).toBe(0);
        await waitGone(everything, STOP_GONE_MS);
        expect(pidsWithHome(home)).toEqual([]);
        expect(alive(pid)).toBe(true);
      } finally {
        killAll(pidsWithHome(home));
        other.kill('SIGKILL');
        rmSync(home, { recursive: true, force: true });
      }
      // The stand-in is this test's child: once killed and reaped it must be gone.
      await waitGone([other.pid!], STOP_GONE_MS);
    },
    TEST_TIMEOUT_MS,
  );
});
