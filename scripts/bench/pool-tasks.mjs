// The hive's part of the throughput bench without a queen: a real BeePool (this process plays the
// hive) and its real bees, fed tiny JS tasks the way the queen feeds a hive (up to IN_FLIGHT at once,
// new ones in a burst as results come back), every result checked. Prints tasks/s and the CPU per
// task of this process (the hive's pool side) and of each bee, from /proc. For profiling the hive
// and bee side alone: the queen's share and its noise are out of the picture.
//   node scripts/bench/pool-tasks.mjs [tasks=50000] [bees=2] [inFlight=16]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveHiveConfig } from '@apiary/config';
import { createLogger } from '@apiary/runtime';
import { BeePool } from '../../services/hive/dist/bee-pool.js';

const [total = 50_000, bees = 2, inFlight = 16] = process.argv.slice(2).map(Number);
const MOD = fileURLToPath(new URL('./tasks.mjs', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-pool-bench-'));
const syscw = (pid) => Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 ticks/s
};

let submitted = 0;
let done = 0;
let bad = 0;
let resolveAll;
const all = new Promise((r) => (resolveAll = r));
const job = (i) => ({ taskId: `t${i}`, attempt: 1, token: 'x', spec: { kind: 'js', module: MOD, export: 'noop', args: { i } }, limits: {}, avoidBees: [] });
let burst = false;
const pool = new BeePool(
  resolveHiveConfig({ queenUrl: 'ws://127.0.0.1:1/v1/hive', joinToken: 'x'.repeat(32), bees, memoryPerBee: '256MiB', cacheDir: path.join(tmp, 'cache') }),
  {
    started: () => undefined,
    finished: (j, _b, o) => {
      if (!o.ok || o.value.value !== Number(j.taskId.slice(1))) bad++;
      if (++done === total) resolveAll();
      // New tasks in one burst per turn, as a queen's packet of assigns.
      if (!burst) {
        burst = true;
        setImmediate(refill);
      }
    },
    beeLifecycle: () => undefined,
  },
  createLogger('hive', () => undefined),
);
function refill() {
  burst = false;
  while (submitted < total && submitted - done < inFlight) pool.submit(job(submitted++));
}

try {
  await pool.start();
  const pids = pool.chambers.map((c) => c.pid);
  const me0 = process.cpuUsage();
  const bees0 = pids.map(cpuMs);
  const w0 = [process.pid, ...pids].map(syscw);
  const t0 = performance.now();
  refill();
  await all;
  const ms = performance.now() - t0;
  const me = process.cpuUsage(me0);
  const beesUs = pids.map((p, k) => ((cpuMs(p) - bees0[k]) * 1000) / total);
  const writes = [process.pid, ...pids].map((p, k) => ((syscw(p) - w0[k]) / total).toFixed(2));
  console.log(`${total} tasks, ${bees} bees, ${inFlight} in flight, depth now ${pool.depth}: ${Math.round(total / (ms / 1000))} tasks/s, ${bad} bad`);
  console.log(
    `CPU per task: pool (hive side) ${((me.user + me.system) / total).toFixed(1)} us; bees ${beesUs.map((u) => u.toFixed(1)).join(' + ')} us; load ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(`write syscalls per task: pool ${writes[0]}, bees ${writes.slice(1).join(' + ')}`);
} finally {
  await pool.stop(0);
  rmSync(tmp, { recursive: true, force: true });
}
