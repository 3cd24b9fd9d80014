import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { TASKS, type TestColony } from './helpers/colony.js';
import { useOneBeeColony } from './helpers/one-bee-colony.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS, TASK_ABORT_GRACE_MS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

/** What a DELETE answers, minus nothing that may legitimately differ between two identical calls. */
const answer = (t: TaskView) => ({ id: t.id, state: t.state, error: t.error, finishedAt: t.finishedAt, attempts: t.attempts });

/**
 * DELETE /v1/tasks/:id on one bee (capacity: the bee plus one task waiting on the hive), so a
 * task can be pinned in each place a cancel must reach: the queen's queue, the hive's queue, a bee.
 */
describe('cancelling a task (DELETE /v1/tasks/:id)', () => {
  const fx = useOneBeeColony('apiary-cancel-');

  /** Occupy the only bee until release() (the file holdUntil waits for appears). */
  async function occupyTheBee(c: TestColony) {
    const release = path.join(fx.tmp, 'release');
    const held = await c.client.submit(js('holdUntil', { file: release }), {});
    await waitFor(async () => (await c.colony()).hives[0]!.bees[0]!.taskId === held.id, 10_000, 'the bee to take the holding task');
    return { held, release: () => writeFileSync(release, '') };
  }

  const runsOf = (label: string) => readdirSync(fx.tmp).filter((f) => f.startsWith(`${label}.`));

  it('a queued task (at the queen, or waiting on the hive) is TASK_CANCELLED and never runs', async () => {
    const c = fx.colony;
    const { held, release } = await occupyTheBee(c);
    // The hive takes one task beyond its busy bee (capacity 2 per bee); the next stays at the queen.
    const onHive = await c.client.submit(js('recordRun', { dir: fx.tmp, label: 'onHive' }), {});
    const atQueen = await c.client.submit(js('recordRun', { dir: fx.tmp, label: 'atQueen' }), {});
    await waitFor(async () => (await c.client.get(onHive.id)).state === 'running', 5000, 'the hive to hold the second task');
    expect((await c.client.get(onHive.id)).attempts[0]!.bee, 'assigned to the hive, not started on a bee').toBe(-1);
    expect((await c.client.get(atQueen.id)).state).toBe('queued');

    for (const t of [atQueen, onHive]) {
      const cancelled = await c.client.cancel(t.id);
      expect(cancelled.state).toBe('cancelled');
      expect(cancelled.error?.code).toBe('TASK_CANCELLED');
    }
    release();
    expect((await c.client.get(held.id, 10_000)).state).toBe('succeeded');
    // FIFO on the queen and on the hive: a task submitted now runs after either cancelled one would have.
    const after = await c.client.run(js('recordRun', { dir: fx.tmp, label: 'after' }), {});
    expect(after.state).toBe('succeeded');
    expect(runsOf('after')).toHaveLength(2); // its .start and .done
    expect(runsOf('onHive')).toEqual([]);
    expect(runsOf('atQueen')).toEqual([]);
    for (const t of [atQueen, onHive]) expect((await c.client.get(t.id)).state).toBe('cancelled');
  });

  it('a running task: its bee is killed with everything the task spawned and replaced; a repeated DELETE is idempotent', async () => {
    const c = fx.colony;
    const before = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    const pidFile = path.join(fx.tmp, 'sleeper.pid');
    const t = await c.client.submit(js('spawnSleeper', { pidFile }), { maxAttempts: 1 });
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').length > 0, 10_000, 'the task to spawn its child');
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    const busy = (await c.colony()).hives[0]!.bees[0]!;
    expect(busy).toMatchObject({ state: 'busy', taskId: t.id, pid: before.pid });
    expect(alive(sleeper)).toBe(true);

    const first = await c.client.cancel(t.id);
    expect(first.state).toBe('cancelled');
    expect(first.error?.code).toBe('TASK_CANCELLED');
    // The task ignores ctx.signal: the hive SIGKILLs the bee's tree when the abort grace runs out.
    await waitGone([before.pid!, sleeper], TASK_ABORT_GRACE_MS + LOAD_MARGIN_MS);
    const replaced = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    expect(replaced.pid).not.toBe(before.pid);
    expect(replaced.restarts).toBe(before.restarts + 1);

    const second = await c.client.cancel(t.id);
    expect(answer(second)).toEqual(answer(first));
    expect((await c.client.get(t.id)).state).toBe('cancelled');
    // No second kill: a task after the repeated DELETE (same link, so any cancel message went
    // first) runs on the same replacement bee, which has not restarted again.
    const next = await c.client.run(js('whoami'), {});
    expect(next.state).toBe('succeeded');
    expect((next.value as { value: { pid: number } }).value.pid).toBe(replaced.pid);
    const now = (await c.colony()).hives[0]!.bees[0]!;
    expect(now).toMatchObject({ pid: replaced.pid, restarts: replaced.restarts });
  });

  it('an unknown task id is TASK_NOT_FOUND', async () => {
    await expect(fx.colony.client.cancel('no-such-task')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });
});
