import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TASKS, TestColony } from './helpers/colony.js';
import { waitFor, waitGone } from './helpers/procs.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

describe('shutdown cascade and orphan handling', () => {
  let colony: TestColony | null = null;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-lifecycle-'));

  afterEach(async () => {
    await colony?.stop();
    colony = null;
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  async function busyColony(task: string, graceMs = 1000) {
    colony = await TestColony.start({ bees: 2, graceMs });
    const pidFile = path.join(tmp, `${task}-${Date.now()}.pid`);
    void colony.client.submit(js(task, { pidFile, ms: 20_000 }), { maxAttempts: 1 });
    await waitFor(() => {
      try {
        return readFileSync(pidFile, 'utf8').length > 0;
      } catch {
        return false;
      }
    }, 10_000, 'task child pid');
    const child = Number(readFileSync(pidFile, 'utf8'));
    const pids = [...colony.pids(), child];
    expect(pids.length).toBeGreaterThanOrEqual(5); // queen, hive, 2 bees, the task's child
    return { colony, pids, child };
  }

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} to the queen takes everything down within grace + 1 s, even a task that traps SIGTERM`, async () => {
      const graceMs = 1000;
      const { colony, pids } = await busyColony('stubborn', graceMs);
      const t0 = Date.now();
      process.kill(colony.queenPid, sig);
      await waitGone(pids, graceMs + 1000);
      expect(Date.now() - t0).toBeLessThanOrEqual(graceMs + 1000);
    });
  }

  it('SIGKILL to the queen: the ephemeral hive sees its socket close and exits with its bees within 3 s', async () => {
    const { colony, pids } = await busyColony('spawnSleeper');
    process.kill(colony.queenPid, 'SIGKILL');
    const took = await waitGone(pids, 3000);
    expect(took).toBeLessThanOrEqual(3000);
  });

  it('SIGKILL to a hive: its bees exit within 1 s, even one whose task blocks the event loop', async () => {
    colony = await TestColony.start({ bees: 2 });
    void colony.client.submit(js('spin', { ms: 20_000 }), { maxAttempts: 1 });
    await waitFor(async () => (await colony!.colony()).hives[0]!.bees.some((b) => b.state === 'busy'), 5000, 'a busy bee');
    const bees = await colony.beePids();
    expect(bees).toHaveLength(2);
    const hive = await colony.hivePid();
    process.kill(hive, 'SIGKILL');
    const took = await waitGone(bees, 1000);
    expect(took).toBeLessThanOrEqual(1000);
  });

});
