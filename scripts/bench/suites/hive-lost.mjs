// How fast the queen notices a hive is gone. A queen daemon (local hive, 2 bees) plus a second hive
// (1 bee) started separately; once both are listed in /v1/colony the second hive is
//   SIGKILLed: its socket closes, so the queen should see it at once; or
//   SIGSTOPped: it freezes with its TCP connection open, so only the heartbeat timeout (3 s) can
//               catch it (the stopped hive is SIGKILLed afterwards);
// and /v1/colony is polled every 5 ms until the hive is no longer listed. The time runs from just
// before the signal to the first response without it. Each case runs BENCH_HIVE_LOST_RUNS times
// (default 3) with a fresh second hive; median and max are reported. After each round every pid of
// the second hive (hive and bee) must be gone. The signal goes at a random point of the hive's 1 s
// heartbeat period.

import { intEnv, median, round, sleep, waitForGone, withTimeout } from '../lib.mjs';
import { startDaemon, startHive, teardownRow } from '../daemon-lib.mjs';

export const name = 'hive-lost';
export const description = 'time from SIGKILL / SIGSTOP of a hive to the queen dropping it from /v1/colony';
export const order = 40;

const POLL_MS = 5;
const LOST_TIMEOUT_MS = 20_000;
const HEARTBEAT_TIMEOUT_MS = 3000; // the queen's default --hive-timeout
const ORPHAN_TIMEOUT_MS = 3000;
const PREDECESSORS = 'predecessors: Apiary ~30-40 s, rbee 30 s';

export async function run(ctx) {
  const runs = intEnv('BENCH_HIVE_LOST_RUNS', 3, 1);
  const rows = [];
  const d = await startDaemon(ctx, { bees: 2 });
  let teardown;
  const times = { SIGKILL: [], SIGSTOP: [] };
  const exits = [];
  const orphanMs = [];
  let orphanFailures = 0;
  const leftovers = [];
  let localHiveKept = true;
  try {
    const localPid = (await d.colony()).hives[0].resources.pid;
    for (let r = 0; r < runs; r++) {
      for (const sig of ['SIGKILL', 'SIGSTOP']) {
        if (ctx.signal.aborted) throw new Error('aborted');
        const h = await startHive(ctx, d, { name: `second-${sig.toLowerCase()}-${r + 1}`, bees: 1 });
        let ms;
        try {
          ms = await timeToLost(ctx, d, h, sig, exits);
          // The local hive must be unaffected.
          const c = await d.colony();
          if (!c.hives.some((x) => x.resources.pid === localPid)) localHiveKept = false;
        } finally {
          // A stopped hive only goes with SIGKILL. Its bee must then go by itself (the bee's orphan
          // watchdog / IPC disconnect): give it a bounded while before stop() kills what is left.
          try {
            process.kill(h.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          const t0 = Date.now();
          const orphans = await waitForGone(h.beePids, ORPHAN_TIMEOUT_MS, 5);
          // Timed on the SIGSTOP rounds only: there this SIGKILL is the one that ends the hive.
          orphanFailures += orphans.length;
          if (orphans.length === 0 && sig === 'SIGSTOP') orphanMs.push(Date.now() - t0);
          const survivors = await h.stop();
          if (survivors.length > 0) leftovers.push(...survivors);
        }
        times[sig].push(ms);
        ctx.log(`run ${r + 1}/${runs} ${sig}: lost after ${ms.toFixed(1)} ms`);
      }
    }
    const kill = times.SIGKILL;
    const stop = times.SIGSTOP;
    rows.push({
      metric: 'SIGKILL -> lost, median',
      value: round(median(kill), 1),
      unit: 'ms',
      note: `${kill.length} runs, polling /v1/colony every ${POLL_MS} ms; ${PREDECESSORS}`,
    });
    rows.push({ metric: 'SIGKILL -> lost, max', value: round(Math.max(...kill), 1), unit: 'ms' });
    if (exits.length > 0) {
      rows.push({
        metric: 'SIGKILL -> hive exit seen here, median',
        value: round(median(exits), 1),
        unit: 'ms',
        note: 'reference: when the kernel had torn the process down (its exit event in this process)',
      });
    }
    rows.push({
      metric: 'SIGSTOP -> lost, median',
      value: round(median(stop), 1),
      unit: 'ms',
      note: `${stop.length} runs; heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms, heartbeat every 1 s, checked every ${HEARTBEAT_TIMEOUT_MS / 10} ms => expect ~2-3.3 s; ${PREDECESSORS}`,
    });
    rows.push({ metric: 'SIGSTOP -> lost, max', value: round(Math.max(...stop), 1), unit: 'ms' });
    rows.push({ metric: 'local hive kept throughout', value: localHiveKept ? 'yes' : 'no', unit: '', ok: localHiveKept });
    rows.push({
      metric: 'bee of a SIGKILLed hive gone by itself, max',
      value: orphanFailures === 0 && orphanMs.length > 0 ? Math.max(...orphanMs) : 'FAIL',
      unit: orphanFailures === 0 ? 'ms' : '',
      ok: orphanFailures === 0 && orphanMs.length > 0,
      note:
        orphanFailures === 0
          ? `from the SIGKILL ending each SIGSTOP round, polled every 5 ms (SIGKILL rounds checked too)`
          : `${orphanFailures} bee(s) still alive ${ORPHAN_TIMEOUT_MS} ms after their hive's SIGKILL`,
    });
    rows.push({
      metric: 'second hives and bees gone after SIGKILL',
      value: leftovers.length === 0 ? 'yes' : 'no',
      unit: '',
      ok: leftovers.length === 0,
      note: leftovers.length === 0 ? `${runs * 2} hives, 1 bee each` : `survivors (SIGKILLed): ${leftovers.join(', ')}`,
    });
  } finally {
    teardown = await d.stop();
  }
  rows.push(teardownRow(teardown));
  return rows;
}

/**
 * Signal the hive and poll /v1/colony until it is no longer listed; returns ms. For SIGKILL it also
 * records (in exits) when this process saw the hive exit, for reference.
 */
async function timeToLost(ctx, d, h, sig, exits) {
  const hivePid = h.pid;
  const listed = (c) => c.hives?.some((h) => h.resources?.pid === hivePid);
  if (!listed(await d.colony())) throw new Error(`hive ${hivePid} is not listed before the ${sig}`);
  // The hive was just seen joining, i.e. right after a heartbeat (and it beats extra while its bees
  // come up): let it settle, then signal it at a random phase of its 1 s heartbeat, so the SIGSTOP
  // times sample the whole 2-3.3 s window.
  await sleep(1000 + Math.floor(Math.random() * 1000));
  const t0 = process.hrtime.bigint();
  process.kill(hivePid, sig);
  if (sig === 'SIGKILL') {
    void withTimeout(h.child.exited, LOST_TIMEOUT_MS, 'hive exit')
      .then((r) => exits.push(Number(r.atNs - t0) / 1e6))
      .catch(() => undefined);
  }
  const deadline = Date.now() + LOST_TIMEOUT_MS;
  for (;;) {
    if (ctx.signal.aborted) throw new Error('aborted');
    const c = await d.api.colony();
    const t = process.hrtime.bigint();
    if (!listed(c)) return Number(t - t0) / 1e6;
    if (Date.now() >= deadline) throw new Error(`hive ${hivePid} still listed ${LOST_TIMEOUT_MS} ms after ${sig}`);
    await sleep(POLL_MS);
  }
}
