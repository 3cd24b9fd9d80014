// The hive's memory poll alone, against real bees: a real BeePool is started (its bees forked and
// idle), then TreeSampler.sample runs over the bees' pids as the pool's poll does, timed per call
// (walks and full passes apart), and the pool's own idle CPU is read over a few seconds.
//   node scripts/bench/pool-poll.mjs [bees=2] [seconds=5]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveHiveConfig } from '@apiary/config';
import { createLogger, TreeSampler, FULL_SCAN_MS } from '@apiary/runtime';
import { BeePool } from '../../services/hive/dist/bee-pool.js';

const [bees = 2, seconds = 5] = process.argv.slice(2).map(Number);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-poll-bench-'));
const cfg = resolveHiveConfig({
  queenUrl: 'ws://127.0.0.1:1/v1/hive',
  joinToken: 'x'.repeat(32),
  bees,
  memoryPerBee: '256MiB',
  cacheDir: path.join(tmp, 'cache'),
});
const pool = new BeePool(
  cfg,
  { started() {}, finished() {}, beeLifecycle() {} },
  createLogger('hive', () => undefined),
);
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  await pool.start();
  const pids = pool.chambers.map((c) => c.pid);
  const s = new TreeSampler(Number.POSITIVE_INFINITY);
  s.sample(pids, 0);
  for (let i = 0; i < 200; i++) s.sample(pids, 1); // warm
  const walk = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    s.sample(pids, 1);
    walk.push(performance.now() - t);
  }
  const full = [];
  const f = new TreeSampler(0);
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    f.sample(pids, i);
    full.push(performance.now() - t);
  }
  // The pool's idle cost: its own poll timer every memoryPollMs, nothing else to do.
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = process.cpuUsage(c0);
  const idle = (c1.user + c1.system) / 1000 / ((performance.now() - t0) / 1000);
  console.log(
    JSON.stringify({
      bees,
      memoryPollMs: cfg.memoryPollMs,
      fullScanMs: FULL_SCAN_MS,
      walkMsP50: +med(walk).toFixed(3),
      fullMsP50: +med(full).toFixed(3),
      idleCpuMsPerS: +idle.toFixed(1),
      load: os.loadavg()[0],
    }),
  );
} finally {
  await pool.stop(1000);
  rmSync(tmp, { recursive: true, force: true });
}
