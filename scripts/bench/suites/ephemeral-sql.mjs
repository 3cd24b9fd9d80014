// Wall time of a one-shot `keeper sql "SELECT 42"` (ephemeral queen → hive → bees, then teardown)
// against a plain `node` + DuckDB process doing the same query. The project aims for a ratio ≤ 3.

import { readdir } from 'node:fs/promises';
import {
  BASELINE_DUCKDB,
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

export const name = 'ephemeral-sql';
export const description = 'wall time of an ephemeral `keeper sql "SELECT 42"` vs plain node + DuckDB';
export const order = 10;

const TARGET_RATIO = 3;
const RUN_TIMEOUT_MS = 60_000;

export async function run(ctx) {
  const runs = ctx.runs;
  const warmup = intEnv('BENCH_WARMUP', 1, 0);
  const apiary = [];
  const baseline = [];
  let leftFiles = 0;
  let leftProcs = 0;

  const keeperOnce = async () => {
    const home = await makeTempDir('apiary-bench-home-');
    try {
      const r = await timeCommand(NODE, [KEEPER_BIN, 'sql', 'SELECT 42'], {
        env: { ...process.env, APIARY_HOME: home },
        timeoutMs: RUN_TIMEOUT_MS,
      });
      if (!/\b42\b/.test(r.stdout)) throw new Error(`keeper sql printed no 42:\n${r.stdout}\n${r.stderr}`);
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
      return r.wallMs;
    } finally {
      await removeTempDir(home);
    }
  };

  const baselineOnce = async () => {
    const r = await timeCommand(NODE, [BASELINE_DUCKDB], { timeoutMs: RUN_TIMEOUT_MS });
    if (r.stdout.trim() !== '42') throw new Error(`baseline printed ${JSON.stringify(r.stdout)}`);
    return r.wallMs;
  };

  for (let i = 0; i < warmup; i++) {
    if (ctx.signal.aborted) throw new Error('aborted');
    await keeperOnce();
    await baselineOnce();
  }
  // Interleave the two so drift on the machine (thermal, other load) hits both alike.
  for (let i = 0; i < runs; i++) {
    if (ctx.signal.aborted) throw new Error('aborted');
    apiary.push(await keeperOnce());
    baseline.push(await baselineOnce());
    ctx.log(`run ${i + 1}/${runs}: keeper ${apiary.at(-1).toFixed(0)} ms, baseline ${baseline.at(-1).toFixed(0)} ms`);
  }

  const spread = (xs) => `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
  const a = median(apiary);
  const b = median(baseline);
  const ratio = round(a / b, 2);
  const rows = [
    {
      metric: 'keeper sql "SELECT 42" (median)',
      value: round(a, 0),
      unit: 'ms',
      baseline: round(b, 0),
      ratio,
      note: `target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}`,
    },
    { metric: '  keeper runs', value: runs, unit: 'runs', note: `${spread(apiary)} ms; +${warmup} warm-up` },
    { metric: 'baseline node+DuckDB SELECT 42 (median)', value: round(b, 0), unit: 'ms', note: `${spread(baseline)} ms` },
    { metric: 'apiary overhead (median diff)', value: round(a - b, 0), unit: 'ms' },
  ];
  if (leftFiles > 0) rows.push({ metric: 'runs leaving files in APIARY_HOME', value: leftFiles, unit: 'runs', note: 'keeper should remove its run dir' });
  if (leftProcs > 0) rows.push({ metric: 'processes alive after keeper exit', value: leftProcs, unit: 'procs', ok: false, note: 'killed by the bench' });
  return rows;
}
