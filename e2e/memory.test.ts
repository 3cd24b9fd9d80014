import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { TASKS, TestColony } from './helpers/colony.js';
import { alive, waitFor, waitGone } from './helpers/procs.js';

const MiB = 1024 * 1024;
const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

/**
 * The three memory enforcers of a chamber (specs/behaviours.md "Budget split"): the RSS monitor over
 * the bee's whole process tree, the V8 heap cap, and DuckDB's memory_limit with spilling to scratch.
 * Every bomb here allocates in steps up to a hard cap (TESTING.md "Bound every memory bomb") and
 * carries a task timeout, so a broken enforcer fails the test instead of the machine.
 */
describe('memory budget enforcement', () => {
  let colony: TestColony | null = null;
  let tmp = '';
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-memory-'));
  });
  afterEach(async () => {
    try {
      await colony?.stop();
      colony = null;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expect(existsSync(tmp)).toBe(false);
  });

  it("kills a js task whose CHILD process eats the budget: RSS is summed over the bee's tree; the child dies; the bee is replaced", async () => {
    const budget = 256 * MiB;
    colony = await TestColony.start({ bees: 1, memoryPerBee: '256MiB' });
    const oldPid = (await colony.colony()).hives[0]!.bees[0]!.pid!;
    // The child alone stays under the budget (Node's own ~40-60 MiB + 160 MiB of Buffers): only the
    // sum with the bee's idle RSS goes over it. A monitor that read only one pid would never fire.
    const capMb = 160;
    // A bee loads DuckDB at its first SQL task; one SQL task first makes the idle bee big enough
    // (~100 MiB) for the sum to cross the budget. Wait for the monitor's reading of it.
    expect((await colony.client.run({ kind: 'sql', sql: 'SELECT 1' }, {})).state).toBe('succeeded');
    const bee = await waitFor(
      async () => {
        const b = (await colony!.colony()).hives[0]!.bees[0]!;
        return b.rssBytes > budget - (capMb + 40) * MiB && b;
      },
      5000,
      'an idle bee big enough for the sum to cross the budget',
    );
    expect(bee.pid).toBe(oldPid);
    const pidFile = path.join(tmp, 'child.pid');
    const rssFile = path.join(tmp, 'child.rss');
    // Generous timeout: if the tree were not summed the task would end TASK_TIMEOUT, not hang the suite.
    const t = await colony.client.run(js('childBufferBomb', { pidFile, rssFile, capMb }), { maxAttempts: 1, timeoutMs: 30_000 });
    expect(t.state).toBe('failed');
    expect(t.error?.code, t.error?.message).toBe('BEE_MEMORY_EXCEEDED');
    expect(t.error?.message).toMatch(/over its 256 MiB budget/);
    const details = t.error?.details as { rssBytes: number; budgetBytes: number };
    expect(details.budgetBytes).toBe(budget);
    expect(details.rssBytes).toBeGreaterThan(budget);
    // The child's own last RSS was under the budget: the kill came from the sum.
    const childRss = Number(readFileSync(rssFile, 'utf8'));
    expect(childRss).toBeGreaterThan(0);
    expect(childRss).toBeLessThan(budget);
    // The child went with the bee's tree (SIGKILL of the tree and the bee's group, at once).
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    await waitGone([childPid], 2000);
    await waitGone([oldPid], 2000);
    const after = await colony.waitIdle(1);
    const replaced = after.hives[0]!.bees[0]!;
    expect(replaced.pid).not.toBe(oldPid);
    expect(replaced.restarts).toBe(1);
    const next = await colony.client.run(js('echo', { ok: 1 }), {});
    expect(next.state).toBe('succeeded');
  });

  it('kills a js task whose GRANDCHILD (in a process group of its own) eats the budget: the walk down the children lists counts it; the whole tree dies', async () => {
    const budget = 256 * MiB;
    colony = await TestColony.start({ bees: 1, memoryPerBee: '256MiB' });
    const oldPid = (await colony.colony()).hives[0]!.bees[0]!.pid!;
    // The grandchild alone stays under the budget (Node's ~40-60 MiB + 160 MiB of Buffers); the bee
    // (~50-60 MiB idle, no DuckDB yet) and the middle child (~40 MiB) alone stay far under it. Only a
    // sum that includes the grandchild crosses it: a monitor that missed it would end TASK_TIMEOUT.
    const capMb = 160;
    const pidFile = path.join(tmp, 'grandchild.pid');
    const rssFile = path.join(tmp, 'grandchild.rss');
    const t = await colony.client.run(js('grandchildBufferBomb', { pidFile, rssFile, capMb }), { maxAttempts: 1, timeoutMs: 30_000 });
    expect(t.state).toBe('failed');
    expect(t.error?.code, t.error?.message).toBe('BEE_MEMORY_EXCEEDED');
    const details = t.error?.details as { rssBytes: number; budgetBytes: number };
    expect(details.rssBytes).toBeGreaterThan(budget);
    const grandRss = Number(readFileSync(rssFile, 'utf8'));
    expect(grandRss).toBeGreaterThan(0);
    expect(grandRss).toBeLessThan(budget);
    // The grandchild went with the tree, though not in the bee's group.
    await waitGone([Number(readFileSync(pidFile, 'utf8'))], 2000);
    await waitGone([oldPid], 2000);
    const replaced = (await colony.waitIdle(1)).hives[0]!.bees[0]!;
    expect(replaced.pid).not.toBe(oldPid);
  });

  it('the V8 heap cap stops a JS heap bomb before the RSS monitor: BEE_MEMORY_EXCEEDED from the heap cap (source v8-heap), the bee is replaced', async () => {
    // 768 MiB: heap cap 384 MiB (specs/behaviours.md). At the cap the bee's RSS is about the idle
    // baseline (128 MiB) + 384 MiB + V8's young generation, well under 768 MiB, so if anything
    // stops the bomb it is the heap cap; a broken cap would end with the RSS monitor's error.
    const budget = 768 * MiB;
    const heapMb = 384;
    colony = await TestColony.start({ bees: 1, memoryPerBee: '768MiB' });
    const oldPid = (await colony.colony()).hives[0]!.bees[0]!.pid!;
    let peakRss = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const b = (await colony!.colony()).hives[0]?.bees[0];
        if (b?.pid === oldPid) peakRss = Math.max(peakRss, b.rssBytes);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let t: TaskView;
    try {
      t = await colony.client.run(js('heapBomb', { capMb: 1536 }), { maxAttempts: 1, timeoutMs: 120_000 });
    } finally {
      sampling = false;
      await sampler;
    }
    expect(t.state).toBe('failed');
    // V8 aborts the bee at its heap cap; the hive reads V8's message and reports the budget, not a crash.
    expect(t.error?.code, t.error?.message).toBe('BEE_MEMORY_EXCEEDED');
    expect(t.error?.message).toMatch(/ran out of JavaScript heap \(its 384 MiB V8 heap cap/);
    // The heap cap did it, not the RSS monitor (whose details carry rssBytes and no source).
    expect(t.error?.details).toEqual({ source: 'v8-heap', heapLimitMb: heapMb, budgetBytes: budget });
    // V8's own fatal message, from that bee's stderr, captured with the attempt it killed (the
    // output may reach the queen just after the failure: wait for it).
    await waitFor(
      async () => /JavaScript heap out of memory/.test((await colony!.client.get(t.id)).attempts[0]?.output ?? ''),
      5000,
      "the bee's heap OOM line in the attempt's output",
    );
    // ... and the tree never reached the budget the RSS monitor enforces.
    expect(peakRss).toBeGreaterThan(heapMb * MiB * 0.5); // the sampler did see the bomb grow
    expect(peakRss).toBeLessThan(budget);
    await waitGone([oldPid], 2000);
    const after = await colony.waitIdle(1);
    expect(after.hives[0]!.bees[0]!.pid).not.toBe(oldPid);
    expect(after.hives[0]!.bees[0]!.restarts).toBe(1);
    expect(alive(oldPid)).toBe(false);
    const next = await colony.client.run(js('echo', { ok: 1 }), {});
    expect(next.state).toBe('succeeded');
  }, 150_000);

  it("a DuckDB aggregate bigger than memory_limit spills to the bee's scratch dir and succeeds; the bee is not killed", async () => {
    // 256 MiB per bee gives DuckDB a 76 MiB memory_limit (specs/behaviours.md). 3M groups of a hash
    // aggregate need well over that (~150 MiB of hash table), so it must spill or fail.
    colony = await TestColony.start({ bees: 1, memoryPerBee: '256MiB' });
    const before = (await colony.colony()).hives[0]!.bees[0]!;
    const scratch = path.join(colony.home, 'cache', 'scratch', 'bee-0');
    expect(readdirSync(scratch)).toEqual([]);
    const groups = 3_000_000;
    const rows = 2 * groups;
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const f of readdirSync(scratch)) seen.add(f);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let t: TaskView;
    try {
      t = await colony.client.run(
        {
          kind: 'sql',
          sql: `SELECT count(*) AS n, sum(c) AS total, sum(k * c) AS weighted FROM (SELECT i % ${groups} AS k, count(*) AS c FROM range(${rows}) t(i) GROUP BY k)`,
        },
        { maxAttempts: 1, timeoutMs: 120_000 },
      );
    } finally {
      watching = false;
      await watcher;
    }
    expect(t.state, t.error?.message).toBe('succeeded');
    // Every key 0..groups-1 appears twice: Σ k·2 = groups·(groups−1).
    expect(t.value).toMatchObject({ kind: 'sql', rows: [{ n: groups, total: rows, weighted: groups * (groups - 1) }] });
    // DuckDB's spill files (duckdb_temp_storage*.tmp) appeared in this bee's scratch dir while it ran ...
    expect(
      [...seen].filter((f) => f.startsWith('duckdb_temp')),
      `scratch entries seen: ${[...seen].join(', ')}`,
    ).not.toEqual([]);
    // ... and are gone after the task (the chamber empties scratch).
    expect(readdirSync(scratch)).toEqual([]);
    const after = (await colony.colony()).hives[0]!.bees[0]!;
    expect(after.pid).toBe(before.pid);
    expect(after.restarts).toBe(0);
  }, 150_000);
});
