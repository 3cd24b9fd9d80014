// Soak: 200,000 tiny tasks through a queen daemon with retention set low, to show that its state is
// bounded. Prints the queen's RSS and PSS and the size of queen.db (+ WAL) and results/ at the start
// (after a warm-up), at every tenth of the run, and at the end; the start is the baseline the
// middle and end are compared with (ratio). Both must level off, not grow with the task count.
//
// BENCH_SOAK_TASKS (default 200,000) tasks go in batches of BENCH_BATCH (2,000), up to 3 batch
// POSTs in flight, each waited for with POST /v1/tasks/wait. One task in 50 prints a line (its
// output is kept with its attempt) and one in 1,000 returns ~300 KiB (a result file). The daemon
// keeps the newest BENCH_SOAK_KEEP (20,000) finished tasks and prunes every 2 s.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readSmapsRollup } from '@apiary/runtime';
import { BENCH_DIR, intEnv, readRssBytes, round, toMiB } from '../lib.mjs';
import { startDaemon, teardownRow } from '../daemon-lib.mjs';

export const name = 'soak';
export const description = '200k tiny tasks through a daemon with low retention: queen RSS/PSS, queen.db and results/ level off';
export const order = 90;
export const timeoutMs = 60 * 60_000;

const MODULE = path.join(BENCH_DIR, 'soak-tasks.mjs');
const MAX_IN_FLIGHT = 3;
const SAMPLES = 10;
const PRUNE_EVERY = '2s';
/** "Levels off": the end may exceed the middle by this factor at most (noise, a prune not yet run). */
const LEVEL_FACTOR = 1.5;
const TERMINAL = new Set(['succeeded', 'failed', 'abandoned', 'cancelled']);

export async function run(ctx) {
  const total = intEnv('BENCH_SOAK_TASKS', 200_000, 1000);
  const batch = Math.min(intEnv('BENCH_BATCH', 2000, 1), 10_000);
  const keep = intEnv('BENCH_SOAK_KEEP', 20_000, 0);
  const d = await startDaemon(ctx, { bees: 2, extraArgs: ['--retain-tasks', String(keep), '--prune-every', PRUNE_EVERY] });
  const rows = [];
  let teardown;
  try {
    const measure = () => ({
      rss: readRssBytes(d.pid) ?? 0,
      // Proportional set size: shared pages (the node binary, libraries) counted by their share.
      pss: readSmapsRollup(d.pid)?.pss ?? 0,
      db: dbBytes(d.home),
      results: dirBytes(path.join(d.home, 'results')),
    });
    await runTasks(ctx, d, 0, Math.min(5000, total), batch);
    const samples = [{ at: 0, ...measure() }];
    ctx.log(`start: ${line(samples[0])}`);
    const t0 = performance.now();
    const step = Math.ceil(total / SAMPLES);
    let bad = 0;
    for (let done = 0; done < total; ) {
      const n = Math.min(step, total - done);
      bad += await runTasks(ctx, d, 10_000 + done, n, batch);
      done += n;
      samples.push({ at: done, ...measure() });
      ctx.log(`${done} tasks: ${line(samples[samples.length - 1])} (${Math.round(done / ((performance.now() - t0) / 1000))} tasks/s)`);
    }
    const secs = (performance.now() - t0) / 1000;
    const start = samples[0];
    const mid = samples[Math.floor(samples.length / 2)];
    const end = samples[samples.length - 1];
    for (const [key, label] of [
      ['rss', 'queen RSS'],
      ['pss', 'queen PSS'],
      ['db', 'queen.db + WAL'],
      ['results', 'results/'],
    ]) {
      const levelled = end[key] <= Math.max(mid[key] * LEVEL_FACTOR, start[key] * 2, 4 * 1024 * 1024);
      rows.push({
        metric: `${label}: start / middle / end`,
        value: `${toMiB(start[key])} / ${toMiB(mid[key])} / ${toMiB(end[key])}`,
        unit: 'MiB',
        baseline: toMiB(start[key]),
        ratio: start[key] > 0 ? round(end[key] / start[key], 2) : null,
        ok: levelled,
        note: `after ${mid.at} and ${end.at} tasks; max over the run ${toMiB(Math.max(...samples.map((s) => s[key])))} MiB${levelled ? '' : ' — still growing'}`,
      });
    }
    rows.push({
      metric: 'throughput over the soak',
      value: Math.round(total / secs),
      unit: 'tasks/s',
      note: `${total} tasks in ${round(secs, 1)} s, retention keeping ${keep}`,
    });
    rows.push({ metric: 'tasks not succeeded', value: bad, unit: 'tasks', ok: bad === 0 });
  } finally {
    teardown = await d.stop();
  }
  rows.push(teardownRow(teardown));
  return rows;
}

function line(s) {
  return `RSS ${toMiB(s.rss)} MiB, PSS ${toMiB(s.pss)} MiB, queen.db+WAL ${toMiB(s.db)} MiB, results/ ${toMiB(s.results)} MiB`;
}

/** Submit and wait for `n` tasks, numbered from `first`; returns how many did not succeed. */
async function runTasks(ctx, d, first, n, batch) {
  let next = 0;
  let bad = 0;
  const worker = async () => {
    while (next < n) {
      if (ctx.signal.aborted) throw new Error('aborted');
      const start = next;
      const end = Math.min(n, start + batch);
      next = end;
      const tasks = [];
      for (let i = first + start; i < first + end; i++) {
        tasks.push({ spec: { kind: 'js', module: MODULE, export: 'soak', args: { i, print: i % 50 === 0, big: i % 1000 === 0 } }, limits: {} });
      }
      const { ids } = await d.api.submitBatch(tasks);
      let pending = ids;
      while (pending.length > 0) {
        const r = await d.api.waitMany(pending, 60_000);
        pending = r.tasks.filter((t) => !TERMINAL.has(t.state)).map((t) => t.id);
        bad += r.tasks.filter((t) => TERMINAL.has(t.state) && t.state !== 'succeeded').length;
      }
    }
  };
  await Promise.all(Array.from({ length: MAX_IN_FLIGHT }, worker));
  return bad;
}

function size(file) {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function dbBytes(home) {
  const db = path.join(home, 'queen.db');
  return size(db) + size(`${db}-wal`) + size(`${db}-shm`);
}

function dirBytes(dir) {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) n += size(path.join(dir, f));
  } catch {
    // not created yet
  }
  return n;
}
