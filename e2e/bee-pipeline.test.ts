import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '@apiary/protocol';
import { ROOT } from './helpers/colony.js';
import { useOneBeeColony } from './helpers/one-bee-colony.js';
import { waitFor } from './helpers/procs.js';
import { LOAD_MARGIN_MS, TASK_ABORT_GRACE_MS } from './helpers/timing.js';

const MOD = path.join(ROOT, 'services/hive/test/fixtures/pipeline-tasks.mjs');
const js = (exportName: string, args: unknown): TaskSpec => ({ kind: 'js', module: MOD, export: exportName, args });
/** Tiny tasks first, so the queen (8 in flight per bee) and the hive (4 per bee) both see short tasks. */
const WARM_UP_TASKS = 200;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'abandoned']);

/**
 * The bee pipeline through a real queen: a task queued in a bee behind one that is killed never ran,
 * so the hive hands it back and it runs again on the new bee as the same attempt (no attempt spent,
 * one result reported); the killed task's attempt ends as its own.
 */
describe('bee pipeline through the queen', () => {
  const fx = useOneBeeColony('apiary-pipeline-e2e-');
  const level = process.env.APIARY_LOG_LEVEL;
  // Info: the hive's log says when it hands a task back (the proof the task was queued in the bee).
  beforeAll(() => {
    process.env.APIARY_LOG_LEVEL = 'info';
  });
  afterAll(() => {
    if (level === undefined) delete process.env.APIARY_LOG_LEVEL;
    else process.env.APIARY_LOG_LEVEL = level;
  });

  it('a task behind a killed one is handed back: it succeeds on the new bee with one attempt; the killed one fails with its own', async () => {
    const c = fx.colony;
    const warm = await c.client.submitBatch(Array.from({ length: WARM_UP_TASKS }, (_, n) => ({ spec: js('echo', { n }) })));
    await waitFor(async () => (await c.client.waitMany(warm.ids, 5000)).tasks.every((t) => t.state === 'succeeded'), 60_000, 'the warm-up tasks');
    const [first] = await c.beePids();

    const ranFile = path.join(fx.tmp, 'ran');
    // Killed timeout + grace after it starts: long enough for its neighbours to be queued behind it first.
    const timeoutMs = LOAD_MARGIN_MS;
    const batch = await c.client.submitBatch([
      { spec: js('echo', { n: 1 }) },
      { spec: js('spin', { ms: 60_000 }), limits: { timeoutMs, maxAttempts: 1 } },
      { spec: js('recordRun', { file: ranFile }), limits: { maxAttempts: 1 } },
    ]);
    const [a, blocker, behind] = batch.ids as [string, string, string];
    const views = await waitFor(
      async () => {
        const r = await c.client.waitMany(batch.ids, 5000);
        return r.tasks.every((t) => TERMINAL.has(t.state)) ? new Map(r.tasks.map((t) => [t.id, t])) : undefined;
      },
      timeoutMs + TASK_ABORT_GRACE_MS + 4 * LOAD_MARGIN_MS,
      'the three tasks to end',
    );
    // a's result went out before the blocker started spinning: one attempt, not lost with the killed bee.
    expect(views.get(a)?.state).toBe('succeeded');
    expect(views.get(a)?.attempts).toHaveLength(1);
    const b = views.get(blocker)!;
    expect(b.state).toBe('failed');
    expect(b.error?.code).toBe('TASK_TIMEOUT');
    expect(b.attempts).toHaveLength(1);
    const t = views.get(behind)!;
    expect(t.state, JSON.stringify(t.error)).toBe('succeeded');
    // One attempt (maxAttempts 1 would have failed it had the kill cost one), run once, on the new bee.
    expect(t.attempts).toHaveLength(1);
    const second = t.value?.kind === 'js' ? (t.value.value as number) : -1;
    expect(second).not.toBe(first);
    expect(readFileSync(ranFile, 'utf8')).toBe(`${second}\n`);
    // It had been queued in the killed bee, not in the hive's queue.
    expect(c.stderr.some((l) => l.includes(`task ${behind} handed back`))).toBe(true);
  });
});
