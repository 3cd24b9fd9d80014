import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BeeStatus } from '@apiary/protocol';
import { ROOT, type TestColony } from './helpers/colony.js';
import { useOneBeeColony } from './helpers/one-bee-colony.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS, TASK_ABORT_GRACE_MS } from './helpers/timing.js';

const MOD = path.join(ROOT, 'e2e/fixtures/output-tasks.mjs');
const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: MOD, export: exportName, args });

/**
 * ctx.signal of a JS task fires on cancel and on timeout. A task that honours it (settles within
 * the abort grace) ends TASK_CANCELLED / TASK_TIMEOUT on the same bee, which is not restarted; one
 * that ignores it is killed after the grace, and its bee replaced.
 */
describe('ctx.signal in JS tasks', () => {
  const fx = useOneBeeColony('apiary-signal-');

  const theBee = async (c: TestColony): Promise<BeeStatus> => (await c.colony()).hives[0]!.bees[0]!;
  const sideEffect = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { pid: number; reason: string };

  it('cancel: the task sees the abort (TASK_CANCELLED) and its bee survives, same pid, no restart', async () => {
    const c = fx.colony;
    const before = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    const file = path.join(fx.tmp, 'aborted.json');
    const ready = path.join(fx.tmp, 'listening');
    const t = await c.client.submit(js('honourSignal', { file, ready }), { maxAttempts: 1 });
    await waitFor(() => existsSync(ready), 20_000, 'the task to listen on its signal');

    const cancelled = await c.client.cancel(t.id);
    expect(cancelled.error?.code).toBe('TASK_CANCELLED');
    // The task wrote its side effect from its abort listener, in the bee that ran it.
    await waitFor(() => existsSync(file), TASK_ABORT_GRACE_MS + LOAD_MARGIN_MS, 'the abort side effect');
    expect(sideEffect(file)).toEqual({ pid: before.pid, reason: 'TASK_CANCELLED' });
    // Back to idle on the same process: the grace ran out with the bee alive (no kill, no restart).
    const idle = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    expect(idle).toMatchObject({ pid: before.pid, restarts: before.restarts, taskId: null });
    expect(alive(before.pid!)).toBe(true);
    const next = await c.client.run(js('big', { kb: 0 }), {});
    expect(next.state).toBe('succeeded');
    expect(await theBee(c)).toMatchObject({ pid: before.pid, restarts: before.restarts });
  });

  it('timeout: the task sees the abort, the attempt ends TASK_TIMEOUT, and its bee survives (same pid, no restart)', async () => {
    const c = fx.colony;
    const before = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    const file = path.join(fx.tmp, 'timed-out.json');
    const timeoutMs = 500;
    const t = await c.client.run(js('honourSignal', { file }), { timeoutMs, maxAttempts: 1 });
    expect(t.state).toBe('failed');
    expect(t.error?.code, t.error?.message).toBe('TASK_TIMEOUT');
    expect(sideEffect(file)).toEqual({ pid: before.pid, reason: 'TASK_TIMEOUT' });
    // It settled on the signal: the attempt ended after the timeout, with no kill after a grace.
    expect(t.attempts[0]!.durationMs).toBeGreaterThanOrEqual(timeoutMs);
    const idle = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    expect(idle).toMatchObject({ pid: before.pid, restarts: before.restarts });
  });

  it('a task that ignores the signal is killed when the grace runs out, and its bee replaced', async () => {
    const c = fx.colony;
    const before = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    const file = path.join(fx.tmp, 'spinning.pid');
    const timeoutMs = 500;
    const t = await c.client.run(js('ignoreSignal', { file }), { timeoutMs, maxAttempts: 1 });
    expect(t.error?.code).toBe('TASK_TIMEOUT');
    // Killed no sooner than the grace after the timeout; the exit is seen within a load margin of that.
    expect(t.attempts[0]!.durationMs).toBeGreaterThanOrEqual(timeoutMs + TASK_ABORT_GRACE_MS);
    expect(t.attempts[0]!.durationMs).toBeLessThanOrEqual(timeoutMs + TASK_ABORT_GRACE_MS + LOAD_MARGIN_MS);
    await waitGone([before.pid!], LOAD_MARGIN_MS);
    const replaced = (await c.waitIdle(1)).hives[0]!.bees[0]!;
    expect(replaced.pid).not.toBe(before.pid);
    expect(replaced.restarts).toBe(before.restarts + 1);
  });
});
