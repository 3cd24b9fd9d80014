import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveHiveConfig } from '@apiary/config';
import { createLogger } from '@apiary/runtime';
import { alive, waitFor, waitGone } from '../../../e2e/helpers/procs.js';
import { LOAD_MARGIN_MS, TASK_ABORT_GRACE_MS } from '../../../e2e/helpers/timing.js';
import { BeePool } from '../src/bee-pool.js';
import type { Job, Outcome } from '../src/chamber.js';
import type { OutputChunk } from '../src/output-capture.js';

const MOD = fileURLToPath(new URL('./fixtures/pipeline-tasks.mjs', import.meta.url));
/** Tiny tasks run to get the pool's moving average of run times under SHORT_TASK_MS (depth > 1); bounded. */
const MAX_WARM_UP_TASKS = 500;

interface Finished {
  job: Job;
  bee: number;
  outcome: Outcome;
  ms: number;
}

/**
 * The bee pipeline on a real pool of one real bee (no queen): tasks queued in a busy bee behind its
 * running one. What must hold: output lands on its own task; a result is not held behind a task
 * that blocks, and a task behind a killed one is handed back and runs once, elsewhere; a task
 * cancelled while it waits in the bee never runs, and a waiting task's timeout counts from its start.
 */
describe('bee pipeline (a real bee, tasks queued in it)', () => {
  let tmp: string;
  let pool: BeePool;
  let seq = 0;
  const finished = new Map<string, Finished>();
  const started: string[] = [];
  const output = new Map<string, OutputChunk[]>();
  /** Every event in order: output before its task's `finished` is part of the contract. */
  const events: string[] = [];
  const pids = new Set<number>();

  const job = (exportName: string, args: unknown, limits: { timeoutMs?: number } = {}): Job => ({
    taskId: `t${++seq}-${exportName}`,
    attempt: 1,
    token: `tok-${seq}`,
    spec: { kind: 'js', module: MOD, export: exportName, args },
    limits,
    avoidBees: [],
  });
  const done = (j: Job) => waitFor(() => finished.get(j.taskId), 30_000, `task ${j.taskId} to finish`);
  const text = (j: Job, stream: 'stdout' | 'stderr') =>
    (output.get(j.taskId) ?? [])
      .filter((c) => c.stream === stream)
      .map((c) => c.data)
      .join('');
  const bee = () => pool.chambers[0]!;
  const inBee = () =>
    bee()
      .jobs()
      .map((j) => j.taskId);

  beforeEach(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-pipeline-'));
    finished.clear();
    started.length = 0;
    output.clear();
    events.length = 0;
    const cfg = resolveHiveConfig({
      queenUrl: 'ws://127.0.0.1:1/v1/hive',
      joinToken: 'x'.repeat(32),
      bees: 1,
      memoryPerBee: '256MiB',
      cacheDir: path.join(tmp, 'cache'),
    });
    pool = new BeePool(
      cfg,
      {
        started: (j) => {
          started.push(j.taskId);
          events.push(`started ${j.taskId}`);
        },
        finished: (j, b, o, ms) => {
          finished.set(j.taskId, { job: j, bee: b, outcome: o, ms });
          events.push(`finished ${j.taskId}`);
        },
        beeLifecycle: () => {
          const pid = pool?.chambers[0]?.pid;
          if (pid) pids.add(pid);
        },
        output: (j, chunks) => {
          output.set(j.taskId, [...(output.get(j.taskId) ?? []), ...chunks]);
          events.push(`output ${j.taskId}`);
        },
      },
      createLogger('hive', () => undefined),
    );
    await pool.start();
    pids.add(bee().pid!);
    // Real tiny tasks until the pool pipelines (its run-time average is under SHORT_TASK_MS).
    for (let i = 0; i < MAX_WARM_UP_TASKS && pool.depth <= 1; i++) {
      const w = job('echo', { n: i });
      pool.submit(w);
      await done(w);
    }
    expect(pool.depth, 'the pool never saw tasks short enough to pipeline').toBeGreaterThan(1);
  });

  afterEach(async () => {
    try {
      await pool.stop(0);
      // Every bee this test forked (replacements too) is gone (throws naming any survivor).
      await waitGone([...pids], LOAD_MARGIN_MS);
    } finally {
      pids.clear();
      rmSync(tmp, { recursive: true, force: true });
    }
    expect(existsSync(tmp)).toBe(false);
  });

  it("two tasks in one bee: each one's console output lands on its own task, before its result", async () => {
    const release = path.join(tmp, 'release');
    const a = job('printAndHold', { lines: ['a-1', 'a-2'], last: 'a-last', file: release });
    const b = job('printNow', { lines: ['b-1', 'b-2'] });
    pool.submit(a);
    pool.submit(b);
    // b waits in the bee behind a (not in the hive's queue): the pipeline is what is under test.
    expect(inBee()).toEqual([a.taskId, b.taskId]);
    await waitFor(() => text(a, 'stdout').includes('a-2'), 30_000, "a's first lines");
    writeFileSync(release, '');
    const [fa, fb] = [await done(a), await done(b)];
    expect(fa.outcome).toEqual({ ok: true, value: { kind: 'js', value: 2 } });
    expect(fb.outcome).toEqual({ ok: true, value: { kind: 'js', value: 2 } });
    expect(text(a, 'stdout')).toBe('a-1\na-2\na-last\n');
    expect(text(a, 'stderr')).toBe('');
    expect(text(b, 'stdout')).toBe('b-1\nb-2\n');
    expect(text(b, 'stderr')).toBe('b-1\nb-2\n');
    // Each task's output went out before its result.
    for (const j of [a, b]) expect(events.lastIndexOf(`output ${j.taskId}`)).toBeLessThan(events.indexOf(`finished ${j.taskId}`));
  });

  it('a result is not held behind a task that blocks; the task behind the killed one is handed back and runs once, on the new bee', async () => {
    // The blocker's kill comes timeout + grace after its start: long enough for a's result to be seen first on a loaded machine.
    const timeoutMs = LOAD_MARGIN_MS;
    const ranFile = path.join(tmp, 'ran');
    const first = bee().pid!;
    const a = job('echo', { n: 7 });
    const blocker = job('spin', { ms: 60_000 }, { timeoutMs });
    const c = job('recordRun', { file: ranFile });
    pool.submit(a);
    pool.submit(blocker);
    pool.submit(c);
    expect(inBee()).toEqual([a.taskId, blocker.taskId, c.taskId]);
    // a's result arrives while the blocker still spins on the same bee (its kill comes after timeout + grace).
    expect((await done(a)).outcome).toEqual({ ok: true, value: { kind: 'js', value: 7 } });
    expect(finished.has(blocker.taskId)).toBe(false);
    expect(alive(first)).toBe(true);
    const fb = await done(blocker);
    expect(fb.outcome.ok === false && fb.outcome.error.code).toBe('TASK_TIMEOUT');
    // Its clock ran from its own start: it ignored its signal, so it was killed after the grace.
    expect(fb.ms).toBeGreaterThanOrEqual(timeoutMs + TASK_ABORT_GRACE_MS);
    // c never ran on the killed bee: handed back, it ran once, on the replacement, as the same attempt.
    const fc = await done(c);
    expect(fc.outcome.ok).toBe(true);
    const second = bee().pid!;
    expect(second).not.toBe(first);
    expect(fc.outcome).toEqual({ ok: true, value: { kind: 'js', value: second } });
    expect(readFileSync(ranFile, 'utf8')).toBe(`${second}\n`);
    expect(fc.job.attempt).toBe(1);
    expect(started.filter((id) => id === c.taskId)).toHaveLength(1);
    expect(events.filter((e) => e === `finished ${c.taskId}`)).toHaveLength(1);
  });

  it("cancel of a task waiting in the bee: it never runs, the bee stays; a waiting task's timeout counts from its start", async () => {
    const release = path.join(tmp, 'release');
    const ranFile = path.join(tmp, 'ran');
    // c waits behind a for longer than its own timeout: it must still succeed.
    const cTimeoutMs = 500;
    const pid = bee().pid!;
    const restarts = bee().status().restarts;
    const a = job('printAndHold', { file: release });
    const b = job('recordRun', { file: ranFile });
    const c = job('echo', { n: 3 }, { timeoutMs: cTimeoutMs });
    pool.submit(a);
    pool.submit(b);
    pool.submit(c);
    expect(inBee()).toEqual([a.taskId, b.taskId, c.taskId]);
    expect(pool.cancel(b.taskId)).toBe(true);
    const fb = await done(b);
    expect(fb.outcome).toMatchObject({ ok: false, error: { code: 'TASK_CANCELLED', message: 'cancelled before it started' } });
    expect(inBee()).toEqual([a.taskId, c.taskId]);
    // Time passing is the point here (no condition to wait on): past c's timeout as counted from its
    // send, with a still running, c must not have been stopped (its clock starts when it does).
    const pastCTimeoutMs = cTimeoutMs + LOAD_MARGIN_MS;
    await new Promise((r) => setTimeout(r, pastCTimeoutMs));
    expect(finished.has(c.taskId)).toBe(false);
    expect(finished.has(a.taskId)).toBe(false);
    writeFileSync(release, '');
    expect((await done(a)).outcome.ok).toBe(true);
    expect((await done(c)).outcome).toEqual({ ok: true, value: { kind: 'js', value: 3 } });
    expect(existsSync(ranFile)).toBe(false);
    // No kill, no restart: the cancel only dropped b where it waited.
    expect(bee().pid).toBe(pid);
    expect(bee().status().restarts).toBe(restarts);
  });
});
