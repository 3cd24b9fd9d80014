// Wall time of one-shot keeper runs (an ephemeral colony: the keeper hosts queen and hive, forks its
// bees, then tears it all down) against a plain node process doing the same work, in one run:
//   keeper sql "SELECT 42"   vs  node + DuckDB running SELECT 42 (baseline-duckdb.mjs)
//   keeper run tiny.mjs      vs  node tiny.mjs
// Issue 10's goal: both ratios <= 2.

import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  BASELINE_DUCKDB,
  BENCH_DIR,
  KEEPER_BIN,
  NODE,
  findTaggedPids,
  intEnv,
  killTree,
  makeTempDir,
  median,
  removeTempDir,
  round,
  timeCommand,
  waitForGone,
} from '../lib.mjs';

export const name = 'ephemeral';
export const description = 'wall time of ephemeral `keeper sql "SELECT 42"` and `keeper run tiny.mjs` vs plain node doing the same';
export const order = 10;

const TARGET_RATIO = 2;
const TINY = path.join(BENCH_DIR, 'tiny.mjs');
const RUN_TIMEOUT_MS = 60_000;
/** Linux USER_HZ: /proc reports CPU time in ticks of 10 ms. */
const MS_PER_TICK = 10;

/**
 * CPU of this process's reaped children so far (/proc/self/stat cutime + cstime, ms). A keeper's run
 * counts its bees too (it reaps them): on a loaded machine wall times stretch, CPU much less.
 */
function reapedChildrenCpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * MS_PER_TICK;
}

export async function run(ctx) {
  const runs = ctx.runs;
  const warmup = intEnv('BENCH_WARMUP', 1, 0);
  const cases = [
    {
      label: 'keeper sql "SELECT 42"',
      keeper: ['sql', 'SELECT 42'],
      keeperOk: (out) => /\b42\b/.test(out),
      baselineLabel: 'node + DuckDB SELECT 42',
      baseline: [BASELINE_DUCKDB],
    },
    { label: 'keeper run tiny.mjs', keeper: ['run', TINY], keeperOk: (out) => out.trim() === '42', baselineLabel: 'node tiny.mjs', baseline: [TINY] },
  ];
  let leftFiles = 0;
  let leftProcs = 0;

  const keeperOnce = async (c) => {
    const home = await makeTempDir('apiary-bench-home-');
    try {
      const cpu0 = reapedChildrenCpuMs();
      const r = await timeCommand(NODE, [KEEPER_BIN, ...c.keeper], {
        env: { ...process.env, APIARY_HOME: home },
        timeoutMs: RUN_TIMEOUT_MS,
      });
      if (!c.keeperOk(r.stdout)) throw new Error(`keeper ${c.keeper.join(' ')} printed no 42:\n${r.stdout}\n${r.stderr}`);
      // The keeper must have torn its colony down before exiting: nothing of it may survive it.
      const left = await waitForGone(findTaggedPids(), 2000);
      if (left.length > 0) {
        leftProcs += left.length;
        ctx.log(`processes still alive after keeper exit: ${left.join(', ')} (killing)`);
        for (const p of left) await killTree(p);
      }
      // The keeper removes its run dir; count runs where it left anything in APIARY_HOME.
      const entries = await readdir(home, { recursive: true }).catch(() => []);
      if (entries.length > 0) leftFiles++;
      c.apiaryCpu.push(reapedChildrenCpuMs() - cpu0);
      return r.wallMs;
    } finally {
      await removeTempDir(home);
    }
  };

  const baselineOnce = async (c) => {
    const cpu0 = reapedChildrenCpuMs();
    const r = await timeCommand(NODE, c.baseline, { timeoutMs: RUN_TIMEOUT_MS });
    if (r.stdout.trim() !== '42') throw new Error(`baseline printed ${JSON.stringify(r.stdout)}`);
    c.baseCpu.push(reapedChildrenCpuMs() - cpu0);
    return r.wallMs;
  };

  for (const c of cases) {
    c.apiary = [];
    c.base = [];
    c.apiaryCpu = [];
    c.baseCpu = [];
    for (let i = 0; i < warmup; i++) {
      if (ctx.signal.aborted) throw new Error('aborted');
      await keeperOnce(c);
      await baselineOnce(c);
    }
    c.apiaryCpu = [];
    c.baseCpu = [];
  }
  // Interleave everything so drift on the machine (thermal, other load) hits all alike.
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      if (ctx.signal.aborted) throw new Error('aborted');
      c.apiary.push(await keeperOnce(c));
      c.base.push(await baselineOnce(c));
      ctx.log(`run ${i + 1}/${runs}: ${c.label} ${c.apiary.at(-1).toFixed(0)} ms, ${c.baselineLabel} ${c.base.at(-1).toFixed(0)} ms`);
    }
  }

  const spread = (xs) => `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
  const rows = [];
  for (const c of cases) {
    const a = median(c.apiary);
    const b = median(c.base);
    const ratio = round(a / b, 2);
    rows.push(
      {
        metric: `${c.label} (median)`,
        value: round(a, 0),
        unit: 'ms',
        baseline: round(b, 0),
        ratio,
        note: `target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}`,
      },
      { metric: '  keeper runs', value: runs, unit: 'runs', note: `${spread(c.apiary)} ms; +${warmup} warm-up` },
      { metric: `  baseline ${c.baselineLabel} (median)`, value: round(b, 0), unit: 'ms', note: spread(c.base) + ' ms' },
      { metric: '  apiary overhead (median diff)', value: round(a - b, 0), unit: 'ms' },
      {
        metric: '  CPU, keeper and its bees (median)',
        value: round(median(c.apiaryCpu), 0),
        unit: 'ms',
        baseline: round(median(c.baseCpu), 0),
        ratio: round(median(c.apiaryCpu) / Math.max(1, median(c.baseCpu)), 2),
        note: 'user + sys of the reaped processes, warm-ups included in neither',
      },
    );
  }
  if (leftFiles > 0) rows.push({ metric: 'runs leaving files in APIARY_HOME', value: leftFiles, unit: 'runs', note: 'keeper should remove its run dir' });
  if (leftProcs > 0) rows.push({ metric: 'processes alive after keeper exit', value: leftProcs, unit: 'procs', ok: false, note: 'killed by the bench' });
  return rows;
}
