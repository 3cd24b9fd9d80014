import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TASKS, TestColony } from './helpers/colony.js';
import { waitFor, waitGone } from './helpers/procs.js';
import { useTempDir } from './helpers/temp-dirs.js';
import { BEE_ORPHAN_POLL_MS, LOAD_MARGIN_MS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

describe('shutdown cascade and orphan handling', () => {
  let colony: TestColony | null = null;
  const tmp = useTempDir('apiary-lifecycle-');

  afterEach(async () => {
    await colony?.stop();
    colony = null;
  });

  async function busyColony(task: string, graceMs = 1000) {
    colony = await TestColony.start({ bees: 2, graceMs });
    const pidFile = path.join(tmp(), `${task}-${Date.now()}.pid`);
    void colony.client.submit(js(task, { pidFile, ms: 20_000 }), { maxAttempts: 1 });
    await waitFor(
      () => {
        try {
          return readFileSync(pidFile, 'utf8').length > 0;
        } catch {
          return false;
        }
      },
      10_000,
      'task child pid',
    );
    const child = Number(readFileSync(pidFile, 'utf8'));
    const pids = [...colony.pids(), child];
    expect(pids.length).toBeGreaterThanOrEqual(5); // queen, hive, 2 bees, the task's child
    return { colony, pids, child };
  }

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} to the queen takes everything down after the grace period, even a task that traps SIGTERM`, async () => {
      const graceMs = 1000;
      const { colony, pids } = await busyColony('stubborn', graceMs);
      // The hive gives the running task graceMs, then SIGKILLs its tree; the rest is exits and one close.
      const cascadeBoundMs = graceMs + LOAD_MARGIN_MS;
      const t0 = Date.now();
      process.kill(colony.queenPid, sig);
      const took = await waitGone(pids, cascadeBoundMs);
      expect(took).toBeLessThanOrEqual(cascadeBoundMs);
      // The trapping child ignored SIGTERM: only the SIGKILL after the grace period ends it, so the
      // task really got its grace (a cascade that killed at once would end it sooner).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(graceMs);
    });
  }

  it('SIGKILL to the queen: the ephemeral hive sees its socket close and exits with its bees (and their children) at once', async () => {
    const { colony, pids } = await busyColony('spawnSleeper');
    // No timer is involved: the kernel closes the queen's socket, the ephemeral hive stops with grace 0.
    const cascadeBoundMs = LOAD_MARGIN_MS;
    process.kill(colony.queenPid, 'SIGKILL');
    const took = await waitGone(pids, cascadeBoundMs);
    expect(took).toBeLessThanOrEqual(cascadeBoundMs);
  });

  it('SIGKILL to a hive: its bees exit at once, even one whose task blocks the event loop', async () => {
    colony = await TestColony.start({ bees: 2 });
    void colony.client.submit(js('spin', { ms: 20_000 }), { maxAttempts: 1 });
    await waitFor(async () => (await colony!.colony()).hives[0]!.bees.some((b) => b.state === 'busy'), 5000, 'a busy bee');
    const bees = await colony.beePids();
    expect(bees).toHaveLength(2);
    const hive = await colony.hivePid();
    // An idle bee goes on IPC 'disconnect'; the spinning one never sees that event, and its orphan
    // watchdog thread (polling every BEE_ORPHAN_POLL_MS) kills it, long before the 20 s spin ends.
    const orphanBoundMs = BEE_ORPHAN_POLL_MS + LOAD_MARGIN_MS;
    process.kill(hive, 'SIGKILL');
    const took = await waitGone(bees, orphanBoundMs);
    expect(took).toBeLessThanOrEqual(orphanBoundMs);
  });
});
