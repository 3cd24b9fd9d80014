// Idle memory of a Pi-sized colony (queen daemon + hive + 4 bees, as on a Pi 4 with 4 cores): PSS
// from /proc/PID/smaps_rollup (shared library pages split fairly between the processes that map
// them) beside RSS, fresh and again after FOOTPRINT_TASKS (default 100,000) tiny js tasks once
// everything is idle again. Goal (issue 14): queen + hive + 4 idle bees <= 200 MiB PSS, and back
// near the fresh level after load. The baseline of the "after" rows is the fresh reading.

import { MALLOC_ENV, readSmapsRollup } from '@apiary/runtime';
import { intEnv, readRssBytes, round, sleep, toMiB } from '../lib.mjs';
import { allIdle, noopSpec, startDaemon, teardownRow } from '../daemon-lib.mjs';
import { smapsBreakdown, smapsGrowth } from '../smaps.mjs';

export const name = 'footprint';
export const description = 'idle PSS/RSS of queen, hive and 4 bees, fresh and after 100,000 tiny tasks';
export const order = 70;
export const timeoutMs = 30 * 60_000;

const BEES = 4;
const BATCH = 2000;
const IN_FLIGHT = 3;
/**
 * Idle means idle: the queen and the hive collect their heap once the event loop was quiet for a
 * whole check interval (shared/runtime idle-gc.ts, IDLE_GC_CHECK_MS = 5 s): the first whole quiet
 * interval ends within two of them after the load, plus a margin for a loaded machine.
 */
const SETTLE_MS = 2 * 5000 + 3000;
const GOAL_MIB = 200;

function snapshot(procs) {
  const out = {};
  for (const [what, pid] of Object.entries(procs)) out[what] = { pss: readSmapsRollup(pid)?.pss ?? null, rss: readRssBytes(pid), kinds: smapsBreakdown(pid) };
  return out;
}

async function runTasks(ctx, d, total) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < total) {
      if (ctx.signal.aborted) throw new Error('aborted');
      const n = Math.min(BATCH, total - next);
      const first = next;
      next += n;
      const tasks = Array.from({ length: n }, (_, k) => ({ spec: noopSpec(first + k), limits: {} }));
      let pending = (await d.api.submitBatch(tasks)).ids;
      while (pending.length > 0) {
        const w = await d.api.waitMany(pending, 60_000);
        pending = w.tasks.filter((t) => !['succeeded', 'failed', 'abandoned', 'cancelled'].includes(t.state)).map((t) => t.id);
        failed += w.tasks.filter((t) => ['failed', 'abandoned', 'cancelled'].includes(t.state)).length;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return failed;
}

export async function run(ctx) {
  const total = intEnv('FOOTPRINT_TASKS', 100_000, 0);
  // The queen's env as `keeper queen start` gives it (runtime malloc-env.ts; a value set in the shell
  // wins, for experiments); its hive and bees get it from the queen.
  const malloc = Object.fromEntries(Object.entries(MALLOC_ENV).filter(([k]) => process.env[k] === undefined));
  const d = await startDaemon(ctx, { bees: BEES, env: malloc });
  const rows = [];
  let teardown;
  try {
    const hive = (await d.colony()).hives[0];
    const procs = { queen: d.pid, hive: hive.resources.pid, ...Object.fromEntries(hive.bees.map((b) => [`bee ${b.id}`, b.pid])) };
    await sleep(SETTLE_MS);
    const fresh = snapshot(procs);
    ctx.log(
      `fresh: ${Object.entries(fresh)
        .map(([k, v]) => `${k} ${toMiB(v.pss)} MiB`)
        .join(', ')}; running ${total} tasks…`,
    );
    const t0 = Date.now();
    const failed = await runTasks(ctx, d, total);
    const taskMs = Date.now() - t0;
    await d.waitColony((c) => allIdle(c.hives?.[0], BEES), 'all bees idle after the load');
    await sleep(SETTLE_MS);
    const after = snapshot(procs);
    const sum = (s, k) => Object.values(s).reduce((n, v) => n + (v[k] ?? 0), 0);
    for (const what of Object.keys(procs)) {
      rows.push({ metric: `${what}: PSS fresh`, value: toMiB(fresh[what].pss), unit: 'MiB', note: `RSS ${toMiB(fresh[what].rss)} MiB` });
      rows.push({
        metric: `${what}: PSS after ${total} tasks`,
        value: toMiB(after[what].pss),
        unit: 'MiB',
        baseline: toMiB(fresh[what].pss),
        ratio: fresh[what].pss ? round(after[what].pss / fresh[what].pss, 2) : undefined,
        // Which mappings grew (smaps.mjs): the heap of the main arena, anonymous maps (V8, other arenas)…
        note: `RSS ${toMiB(after[what].rss)} MiB; grew: ${smapsGrowth(fresh[what].kinds, after[what].kinds)}`,
      });
    }
    rows.push({
      metric: `total PSS fresh (queen + hive + ${BEES} bees)`,
      value: toMiB(sum(fresh, 'pss')),
      unit: 'MiB',
      baseline: GOAL_MIB,
      ratio: round(sum(fresh, 'pss') / (GOAL_MIB * 1048576), 2),
      note: `goal <= ${GOAL_MIB} MiB; RSS sum ${toMiB(sum(fresh, 'rss'))} MiB`,
    });
    rows.push({
      metric: `total PSS after ${total} tasks`,
      value: toMiB(sum(after, 'pss')),
      unit: 'MiB',
      baseline: toMiB(sum(fresh, 'pss')),
      ratio: round(sum(after, 'pss') / sum(fresh, 'pss'), 2),
      note: `RSS sum ${toMiB(sum(after, 'rss'))} MiB`,
    });
    rows.push({
      metric: `${total} tiny tasks`,
      value: round(taskMs / 1000, 1),
      unit: 's',
      note: `${round(total / (taskMs / 1000), 0)} tasks/s`,
      ok: failed === 0,
    });
  } finally {
    teardown = await d.stop();
  }
  rows.push(teardownRow(teardown));
  return rows;
}
