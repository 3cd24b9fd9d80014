import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { TestDaemon } from './helpers/daemon.js';
import { alive, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { BEE_ORPHAN_POLL_MS, HIVE_LOSS_CHECK_MS, LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

const CHAOS_TASKS = fileURLToPath(new URL('./fixtures/chaos-tasks.mjs', import.meta.url));
const TASKS = 1000;
/** Each task's own work: long enough that the job outlasts the chaos, short enough to stay quick. */
const TASK_MS = 25;
/** A SIGSTOPped hive stays stopped past its loss: the queen declares it HIVE_LOST and re-runs its work. */
const STOPPED_MS = QUEEN_DEFAULTS.hiveTimeoutMs + HIVE_LOSS_CHECK_MS + LOAD_MARGIN_MS;
/** A hive's start, a rejoin after a restart, a job's end: generous bounds for a loaded 2-core machine. */
const HIVE_START_MS = 30_000;
const JOB_MS = 75_000;
const TEST_TIMEOUT_MS = 180_000;

/** Files are `<taskId>.<pid>.<rand>.done`: completed runs per task id. */
function runsByTask(dir: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of readdirSync(dir)) {
    const id = f.split('.')[0]!;
    m.set(id, [...(m.get(id) ?? []), f]);
  }
  return m;
}

const doneCount = (dir: string) => readdirSync(dir).length;
const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

describe('chaos: a 1,000-task job through bee and hive SIGKILLs, a SIGSTOP and a queen SIGKILL + restart', () => {
  let d: TestDaemon | null = null;
  let dir = '';
  afterEach(async () => {
    await d?.stop();
    d = null;
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  });

  it(
    'every task succeeds exactly once in the ledger, every completed run is a recorded attempt, nothing is lost or left running',
    async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-chaos-'));
      d = await TestDaemon.start(['--bees', '2', '--memory-per-bee', '256MiB']);
      const extra = d.startHive('extra');
      await d.waitHives(2, HIVE_START_MS);
      const localHivePid = (await d.client.colony()).hives.find((h) => h.resources.name !== 'extra')!.resources.pid;
      const beePids = async () => (await d!.client.colony()).hives.flatMap((h) => h.bees.map((b) => b.pid)).filter((p): p is number => p !== null);

      const { ids } = await d.client.submitBatch(
        Array.from({ length: TASKS }, () => ({
          spec: { kind: 'js' as const, module: CHAOS_TASKS, export: 'sideEffect', args: { dir, ms: TASK_MS } },
          limits: { maxAttempts: 10 },
        })),
      );
      const t0 = Date.now();
      const progress = (share: number, what: string) => waitFor(() => doneCount(dir) >= share * TASKS, JOB_MS, `${what} (at ${share * 100}% done)`);
      const killed: number[] = [];
      const killBees = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const pid = pick(await beePids());
          if (pid && alive(pid)) {
            process.kill(pid, 'SIGKILL');
            killed.push(pid);
          }
        }
      };

      // 1. Random bees die.
      await progress(0.08, 'first bee kills');
      await killBees(3);
      // 2. The daemon's own hive freezes past its loss, then thaws: its late results must not count twice.
      await progress(0.2, 'SIGSTOP');
      process.kill(localHivePid, 'SIGSTOP');
      try {
        await waitFor(
          async () => !(await d!.client.colony()).hives.some((h) => h.resources.pid === localHivePid),
          STOPPED_MS + LOAD_MARGIN_MS,
          'the stopped hive to be lost',
        );
      } finally {
        process.kill(localHivePid, 'SIGCONT');
      }
      await waitFor(async () => (await d!.client.colony()).hives.some((h) => h.resources.pid === localHivePid), HIVE_START_MS, 'the thawed hive to rejoin');
      // 3. A whole hive dies (its bees follow it).
      await progress(0.35, 'hive SIGKILL');
      const extraBees =
        (await d.client.colony()).hives
          .find((h) => h.resources.name === 'extra')
          ?.bees.map((b) => b.pid)
          .filter((p): p is number => p !== null) ?? [];
      extra.kill('SIGKILL');
      killed.push(extra.pid!, ...extraBees);
      // 4. The queen dies mid-job and is started again.
      await progress(0.5, 'queen SIGKILL');
      d.queen!.kill('SIGKILL');
      await waitGone([d.queen!.pid!], 5000);
      await d.startQueen();
      await waitFor(
        async () => (await d!.client.colony()).hives.some((h) => h.resources.pid === localHivePid),
        HIVE_START_MS,
        'the local hive to rejoin the new queen',
      );
      // 5. More bees die.
      await progress(0.65, 'last bee kills');
      await killBees(3);

      const tasks: TaskView[] = await waitFor(
        async () => {
          const { tasks } = await d!.client.waitMany(ids, 10_000);
          return tasks.every((t) => t.state !== 'queued' && t.state !== 'running') ? tasks : undefined;
        },
        JOB_MS,
        'every task to end',
      );
      const jobMs = Date.now() - t0;

      // Every task succeeded, exactly once: one attempt without error, the last.
      const notOk = tasks.filter((t) => t.state !== 'succeeded');
      expect(
        notOk.map((t) => ({ id: t.id, state: t.state, error: t.error })),
        'tasks that did not succeed',
      ).toEqual([]);
      for (const t of tasks) {
        expect(
          t.attempts.filter((a) => a.error === null).map((a) => a.attempt),
          `task ${t.id}`,
        ).toEqual([t.attempts.length]);
      }
      // Runs by side effect: each task's completed runs are at most its recorded attempts, the credited run is one of them, no run is of an unknown task.
      const runs = runsByTask(dir);
      const known = new Set(ids);
      expect(
        [...runs.keys()].filter((id) => !known.has(id)),
        'runs of unknown tasks',
      ).toEqual([]);
      const over = tasks.filter((t) => (runs.get(t.id)?.length ?? 0) > t.attempts.length);
      expect(
        over.map((t) => ({ id: t.id, runs: runs.get(t.id), attempts: t.attempts })),
        'tasks with more completed runs than recorded attempts',
      ).toEqual([]);
      for (const t of tasks) {
        const credited = (t.value as { kind: 'js'; value: { run: string } }).value.run;
        expect(runs.get(t.id), `task ${t.id}`).toContain(`${credited}.done`);
      }
      const totalRuns = [...runs.values()].reduce((n, r) => n + r.length, 0);
      const totalAttempts = tasks.reduce((n, t) => n + t.attempts.length, 0);
      console.log(`chaos: ${TASKS} tasks in ${jobMs} ms, ${totalAttempts} attempts, ${totalRuns} completed runs, ${killed.length} processes killed`);

      // Everything killed is gone (a dead hive's bees notice it and exit).
      await waitGone(killed, BEE_ORPHAN_POLL_MS + HIVE_START_MS);
      const left = pidsWithHome(d.home);
      await d.stop();
      d = null;
      expect(left.filter(alive), 'processes left after stop').toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
