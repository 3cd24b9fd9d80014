import { afterEach, describe, expect, it } from 'vitest';
import { START_HOLD_MS } from '../services/hive/src/start-reports.js';
import { TASKS, TestColony } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { FakeHive } from './helpers/fake-hive.js';
import { waitFor } from './helpers/procs.js';
import { LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

/** Beats from the fake hive: well inside the queen's hive timeout. */
const BEAT_MS = Math.floor(QUEEN_DEFAULTS.hiveTimeoutMs / 4);
/** A held start reaches the queen after the hold, plus a loaded machine's delays. */
const START_SEEN_MS = START_HOLD_MS + LOAD_MARGIN_MS;
/** The task that outlives the hold: long enough to be seen running even on a loaded machine. */
const LONG_TASK_MS = START_SEEN_MS + LOAD_MARGIN_MS;

/**
 * The hive holds `task.started` back for START_HOLD_MS: a tiny task's result implies its start
 * (one message per task less for the queen and the hive); a longer task is still seen running on its bee.
 */
describe('start reports: a result implies its start', () => {
  let d: TestDaemon | null = null;
  let colony: TestColony | null = null;
  const fakes: FakeHive[] = [];
  afterEach(async () => {
    try {
      for (const f of fakes.splice(0)) await f.close();
      await d?.stop();
      await colony?.stop();
    } finally {
      d = null;
      colony = null;
    }
  });

  it('the queen records the bee and the start of an attempt from a result that came with no task.started', async () => {
    d = await TestDaemon.start(['--no-local-hive']);
    const hive = await FakeHive.join(d.port, d.token('join'), { name: 'quiet', bees: 2, beatEveryMs: BEAT_MS });
    fakes.push(hive);
    await waitFor(async () => (await d!.client.colony()).hives.length === 1, 10_000, 'the fake hive to join');
    const before = Date.now();
    const ok = await d.client.submit(js('echo', { n: 1 }), { maxAttempts: 1 });
    const bad = await d.client.submit(js('fail', { message: 'no' }), { maxAttempts: 1 });
    const assigns = await waitFor(() => (hive.messages('task.assign').length === 2 ? hive.messages('task.assign') : undefined), 10_000, 'both assigns');
    const tokenOf = (id: string) => assigns.find((a) => a.taskId === id)!.token;
    const ref = { attempt: 1, beeState: 'idle', durationMs: 3 };
    hive.sendMessage({ type: 'task.succeeded', taskId: ok.id, token: tokenOf(ok.id), ...ref, bee: 1, value: { kind: 'js', value: { n: 1 } } });
    hive.sendMessage({ type: 'task.failed', taskId: bad.id, token: tokenOf(bad.id), ...ref, bee: 0, error: { code: 'TASK_FAILED', message: 'no' } });
    const done = await d.client.get(ok.id, 10_000);
    const failed = await d.client.get(bad.id, 10_000);
    expect(done.state).toBe('succeeded');
    expect(failed.state).toBe('failed');
    for (const [t, bee] of [
      [done, 1],
      [failed, 0],
    ] as const) {
      const a = t.attempts[0]!;
      expect(a.bee, 'the bee named by the result').toBe(bee);
      expect(a.durationMs).toBe(3);
      // The start is the result's arrival minus the run time: after the submission, before the end.
      expect(a.startedAt).toBeGreaterThanOrEqual(before);
      expect(a.startedAt).toBeLessThanOrEqual(t.finishedAt!);
    }
  });

  it('a real hive: a task running past the hold is seen on its bee while it runs; a tiny one ends with its bee recorded', async () => {
    colony = await TestColony.start({ bees: 1 });
    const c = colony;
    const long = await c.client.submit(js('sleep', { ms: LONG_TASK_MS }), {});
    const running = await waitFor(
      async () => {
        const v = await c.client.get(long.id);
        return v.state === 'running' && v.attempts[0]!.bee === 0 ? v : undefined;
      },
      LONG_TASK_MS + LOAD_MARGIN_MS,
      'the long task to be reported started on bee 0',
    );
    expect(running.state).toBe('running');
    expect((await c.client.get(long.id, LONG_TASK_MS + LOAD_MARGIN_MS)).state).toBe('succeeded');
    const tiny = await c.client.submit(js('echo', { n: 2 }), {}, 10_000);
    expect(tiny.state).toBe('succeeded');
    expect(tiny.attempts[0]!.bee).toBe(0);
  });
});
