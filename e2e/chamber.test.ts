import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { TASKS, TestColony } from './helpers/colony.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';
import { useTempDir } from './helpers/temp-dirs.js';
import { LOAD_MARGIN_MS, TASK_ABORT_GRACE_MS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });
const jsValue = (t: TaskView) => (t.value?.kind === 'js' ? (t.value.value as Record<string, unknown>) : undefined);

describe('sealed chambers (2 bees, 256 MiB each)', () => {
  let colony: TestColony;
  const tmp = useTempDir('apiary-chamber-');

  beforeAll(async () => {
    colony = await TestColony.start({ bees: 2, memoryPerBee: '256MiB' });
  });
  afterAll(async () => {
    await colony?.stop();
  });

  it('has N bees, each with its memory budget, heap cap and own scratch dir', async () => {
    const c = await colony.colony();
    const bees = c.hives[0]!.bees;
    expect(bees).toHaveLength(2);
    for (const b of bees) expect(b.budgetBytes).toBe(256 * 1024 * 1024);
    const who = await Promise.all([colony.client.run(js('sleep', { ms: 300 }), {}), colony.client.run(js('sleep', { ms: 300 }), {})]);
    expect(new Set(who.map((t) => jsValue(t)!.bee))).toEqual(new Set([0, 1]));
    const info = await Promise.all([0, 1].map(() => colony.client.run(js('whoami'), {})));
    for (const t of info) {
      const v = jsValue(t)!;
      expect(v.budget).toBe(256 * 1024 * 1024);
      expect(v.heapLimitMb).toBeGreaterThan(0);
      expect(v.heapLimitMb).toBeLessThan(256);
      expect(String(v.scratchDir)).toBe(path.join(colony.home, 'cache', 'scratch', `bee-${v.bee}`));
    }
  });

  it('kills a js task that fills native memory (Buffers) with BEE_MEMORY_EXCEEDED; the other bee finishes; the bee is replaced', async () => {
    const before = await colony.colony();
    const neighbour = colony.client.run(js('sleep', { ms: 2500 }), {});
    // let the neighbour take a bee first so the bomb lands on the other one
    await waitFor(async () => (await colony.colony()).hives[0]!.bees.some((b) => b.state === 'busy'), 5000, 'neighbour running');
    const bomb = await colony.client.run(js('bufferBomb', { capMb: 2048 }), { maxAttempts: 1 });
    expect(bomb.state).toBe('failed');
    expect(bomb.error?.code).toBe('BEE_MEMORY_EXCEEDED');
    expect(bomb.error?.message).toMatch(/over its 256 MiB budget/);
    const n = await neighbour;
    expect(n.state).toBe('succeeded');
    const bombBee = bomb.attempts[0]!.bee;
    expect(jsValue(n)!.bee).not.toBe(bombBee);
    const after = await colony.waitIdle(2);
    const oldPid = before.hives[0]!.bees[bombBee]!.pid;
    const replaced = after.hives[0]!.bees[bombBee]!;
    expect(replaced.pid).not.toBe(oldPid);
    expect(replaced.restarts).toBeGreaterThan(0);
    expect(alive(oldPid!)).toBe(false);
    const next = await colony.client.run(js('echo', { ok: 1 }), {});
    expect(next.state).toBe('succeeded');
  });

  it('stops a DuckDB query that goes over the budget with BEE_MEMORY_EXCEEDED: its bee is replaced, the neighbour bee is untouched, the next query succeeds', async () => {
    const before = (await colony.waitIdle(2)).hives[0]!.bees;
    // The neighbour holds one bee until we release it, so it surely runs all through the bomb.
    const release = path.join(tmp(), 'release-duck-neighbour');
    const neighbour = colony.client.run(js('holdUntil', { file: release }), {});
    const nBee = await waitFor(async () => (await colony.colony()).hives[0]!.bees.find((b) => b.state === 'busy'), 5000, 'neighbour running');
    try {
      // A list aggregate of 40M BIGINTs cannot spill: it needs ~320 MB against a ~77 MB DuckDB limit.
      const t = await colony.client.run({ kind: 'sql', sql: 'SELECT length(list(i)) FROM range(40000000) t(i)' }, { maxAttempts: 1 });
      expect(t.state).toBe('failed');
      expect(t.error?.code).toBe('BEE_MEMORY_EXCEEDED');
      const bombBee = t.attempts[0]!.bee;
      expect(bombBee).not.toBe(nBee.id);
      // The neighbour was still running when the bomb's bee was killed, in its own unchanged bee.
      const mid = (await colony.colony()).hives[0]!.bees[nBee.id]!;
      expect(mid).toMatchObject({ state: 'busy', pid: nBee.pid, restarts: before[nBee.id]!.restarts });
    } finally {
      writeFileSync(release, '');
    }
    const n = await neighbour;
    expect(n.state, n.error?.message).toBe('succeeded');
    expect(jsValue(n)).toMatchObject({ pid: nBee.pid, bee: nBee.id });
    const after = (await colony.waitIdle(2)).hives[0]!.bees;
    const bombBee = 1 - nBee.id;
    expect(after[nBee.id]).toMatchObject({ pid: nBee.pid, restarts: before[nBee.id]!.restarts });
    expect(after[bombBee]!.pid).not.toBe(before[bombBee]!.pid);
    expect(after[bombBee]!.restarts).toBeGreaterThan(before[bombBee]!.restarts);
    expect(alive(before[bombBee]!.pid!)).toBe(false);
    const ok = await colony.client.run({ kind: 'sql', sql: 'SELECT sum(i) AS s FROM range(1000) t(i)' }, {});
    expect(ok.state).toBe('succeeded');
    expect(ok.value).toMatchObject({ kind: 'sql', rows: [{ s: 499500 }] });
  });

  it('kills a task past its timeout with TASK_TIMEOUT, and the sleep it spawned too', async () => {
    const pidFile = path.join(tmp(), 'sleeper.pid');
    const timeoutMs = 1000;
    const t = await colony.client.run(js('spawnSleeper', { pidFile }), { timeoutMs, maxAttempts: 1 });
    expect(t.error?.code, t.error?.message).toBe('TASK_TIMEOUT');
    expect(t.state).toBe('failed');
    // The hive's timer fires at timeoutMs; the task ignores ctx.signal, so the bee's tree is SIGKILLed
    // when the abort grace runs out, and the attempt ends with the bee's exit.
    const took = t.attempts[0]!.durationMs;
    expect(took).toBeGreaterThanOrEqual(timeoutMs + TASK_ABORT_GRACE_MS);
    expect(took).toBeLessThanOrEqual(timeoutMs + TASK_ABORT_GRACE_MS + LOAD_MARGIN_MS);
    // The sleeper went with the tree: gone by the time the failure is reported, give or take its exit.
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await waitGone([sleeper], LOAD_MARGIN_MS);
    await colony.waitIdle(2);
  });

  it("empties a bee's scratch dir before its next task; bees never share one", async () => {
    const w = await Promise.all([
      colony.client.run(js('writeScratch', { name: 'a.tmp', holdMs: 300 }), {}),
      colony.client.run(js('writeScratch', { name: 'b.tmp', holdMs: 300 }), {}),
    ]);
    const dirs = w.map((t) => jsValue(t)!.scratchDir as string);
    expect(new Set(dirs).size).toBe(2);
    for (const t of w) expect((jsValue(t)!.files as string[]).length).toBe(1);
    const l = await Promise.all([colony.client.run(js('listScratch'), {}), colony.client.run(js('listScratch'), {})]);
    for (const t of l) expect(jsValue(t)!.files).toEqual([]);
  });

  it('queues tasks FIFO when every bee is busy: 2×N tasks all complete, spread over all bees', async () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7];
    const ts = await Promise.all(labels.map((label) => colony.client.run(js('stamp', { ms: 250, label }), {})));
    const vals = ts.map((t) => jsValue(t)!);
    expect(ts.every((t) => t.state === 'succeeded')).toBe(true);
    expect(new Set(vals.map((v) => v.bee))).toEqual(new Set([0, 1]));
    // Submitted in label order: they start in label order, a pair at a time.
    const byStart = [...vals].sort((a, b) => (a.startedAt as number) - (b.startedAt as number)).map((v) => v.label as number);
    for (let i = 2; i < byStart.length; i += 2) {
      expect(Math.min(byStart[i]!, byStart[i + 1]!)).toBeGreaterThan(Math.max(byStart[i - 2]!, byStart[i - 1]!));
    }
  });

  it('replaces a bee that crashes mid-task and retries the task on another bee', async () => {
    const marker = path.join(tmp(), 'crash-marker');
    const t = await colony.client.run(js('crashOnce', { marker }), {});
    expect(t.state).toBe('succeeded');
    expect(t.value).toEqual({ kind: 'js', value: 'second time lucky' });
    expect(t.attempts).toHaveLength(2);
    expect(t.attempts[0]!.error?.code).toBe('BEE_CRASHED');
    expect(t.attempts[1]!.bee).not.toBe(t.attempts[0]!.bee);
    await colony.waitIdle(2);
  });

  it('seals DuckDB between tasks: tables and budget settings a task leaves behind are gone for the next', async () => {
    const dirty = await colony.client.run(
      { kind: 'sql', sql: "CREATE TABLE leftover AS SELECT 1 AS x; SET memory_limit = '20GB'; SET threads = 2; SELECT 1 AS done" },
      {},
    );
    expect(dirty.state, dirty.error?.message).toBe('succeeded');
    // A script that fails half-way has still created its table: the next task must not see it either.
    const failed = await colony.client.run({ kind: 'sql', sql: 'CREATE TABLE half AS SELECT 1 AS x; SELECT * FROM no_such_table' }, {});
    expect(failed.error?.code).toBe('SQL_ERROR');
    for (let i = 0; i < 4; i++) {
      const t = await colony.client.run(
        {
          kind: 'sql',
          sql: "SELECT (SELECT count(*) FROM duckdb_tables()) AS tables, current_setting('threads') AS threads, current_setting('memory_limit') AS mem",
        },
        {},
      );
      expect(t.value).toMatchObject({ kind: 'sql', rows: [{ tables: 0, threads: 1 }] });
      expect(String((t.value as unknown as { rows: { mem: string }[] }).rows[0]!.mem)).not.toMatch(/GiB|GB/);
    }
  });

  it('never retries a task that throws, unless it opts in with retryUserErrors', async () => {
    const once = await colony.client.run(js('failOnce', { marker: path.join(tmp(), 'fail-a') }), {});
    expect(once.state).toBe('failed');
    expect(once.error?.code).toBe('TASK_FAILED');
    expect(once.attempts).toHaveLength(1);
    const retried = await colony.client.run(js('failOnce', { marker: path.join(tmp(), 'fail-b') }), { retryUserErrors: true });
    expect(retried.state).toBe('succeeded');
    expect(retried.attempts.map((a) => a.error?.code ?? 'ok')).toEqual(['TASK_FAILED', 'ok']);
  });

  it('removes every scratch dir at shutdown', async () => {
    const scratch = path.join(colony.home, 'cache', 'scratch');
    expect(existsSync(scratch)).toBe(true);
    await colony.stop();
    expect(existsSync(scratch)).toBe(false);
  });
});
