// Idle RSS of an ephemeral colony (queen, hive, 2 bees) once every bee is idle, against one plain
// node process with DuckDB loaded and idle; then SIGTERM the queen and check the whole colony goes.

import path from 'node:path';
import { QueenClient } from '@apiary/client';
import {
  BASELINE_DUCKDB,
  NODE,
  QUEEN_BIN,
  descendantPids,
  isAlive,
  killTree,
  makeTempDir,
  readJsonLine,
  readRssBytes,
  removeTempDir,
  randomToken,
  round,
  signalPids,
  sleep,
  spawnTracked,
  tailLines,
  toMiB,
  waitForGone,
} from '../lib.mjs';

export const name = 'idle-rss';
export const description = 'idle RSS of queen, hive and each bee (2 bees) vs plain node + DuckDB; clean teardown';
export const order = 20;

const BEES = 2;
const READY_TIMEOUT_MS = 20_000;
const IDLE_TIMEOUT_MS = 30_000;
const SETTLE_MS = 1000;
const TEARDOWN_TIMEOUT_MS = 10_000;

export async function run(ctx) {
  const baseline = await baselineIdleRss(ctx);
  const rows = await colonyIdleRss(ctx, baseline);
  rows.push({ metric: 'baseline: node + DuckDB, idle', value: toMiB(baseline), unit: 'MiB', note: 'baseline-duckdb.mjs hold (threads=1)' });
  return rows;
}

/** RSS of the baseline script in hold mode (it prints its own VmRSS after settling). */
async function baselineIdleRss(ctx) {
  const child = spawnTracked(NODE, [BASELINE_DUCKDB, 'hold', '--settle', String(SETTLE_MS), '--max-hold', '60000'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = tailLines(child.stderr);
  try {
    const msg = await readJsonLine(child, 30_000, 'baseline hold');
    if (msg.type !== 'hold' || !(msg.rssBytes > 0)) throw new Error(`baseline hold: unexpected ${JSON.stringify(msg)}`);
    return msg.rssBytes;
  } catch (e) {
    e.message += stderr().length ? `\n${stderr().join('\n')}` : '';
    throw e;
  } finally {
    child.stdin.destroy(); // EOF: it exits by itself
    child.kill('SIGTERM');
    if ((await waitForGone([child.pid], 5000)).length > 0) {
      ctx.log(`baseline pid ${child.pid} ignored SIGTERM; killing`);
      await killTree(child.pid);
    }
  }
}

async function colonyIdleRss(ctx, baselineBytes) {
  const tmp = await makeTempDir('apiary-bench-rss-');
  const clientToken = randomToken(32);
  const startedAt = Date.now();
  const queen = spawnTracked(
    NODE,
    [QUEEN_BIN, '--ephemeral', '--exit-with-stdin', '--port', '0', '--bees', String(BEES), '--cache-dir', path.join(tmp, 'cache')],
    {
      stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: with --exit-with-stdin, EOF would stop the queen
      env: {
        ...process.env,
        APIARY_HOME: tmp,
        APIARY_CLIENT_TOKEN: clientToken,
        APIARY_JOIN_TOKEN: randomToken(32),
        APIARY_LOG_LEVEL: 'warn',
      },
    },
  );
  queen.stdin.on('error', () => undefined);
  const stderr = tailLines(queen.stderr);
  // Every pid of the colony we learn of, for the teardown check.
  const colonyPids = new Set([queen.pid]);
  const rows = [];
  try {
    const ready = await readJsonLine(queen, READY_TIMEOUT_MS, 'queen');
    if (ready.type !== 'ready' || !ready.url) throw new Error(`queen: unexpected first line ${JSON.stringify(ready)}`);
    if (ready.pid !== queen.pid) ctx.log(`queen reports pid ${ready.pid}, spawned ${queen.pid}`);
    const readyMs = Date.now() - startedAt;

    // Poll the colony until the hive is there with all its bees idle.
    const api = new QueenClient(ready.url, clientToken);
    const getColony = () => api.colony();
    let colony;
    let lastErr;
    const deadline = Date.now() + IDLE_TIMEOUT_MS;
    for (;;) {
      if (ctx.signal.aborted) throw new Error('aborted');
      try {
        colony = await getColony();
        lastErr = undefined;
        for (const h of colony.hives ?? []) {
          if (h.resources?.pid) colonyPids.add(h.resources.pid);
          for (const b of h.bees ?? []) if (b.pid) colonyPids.add(b.pid);
        }
        const hive = colony.hives?.[0];
        if (hive && hive.bees?.length === BEES && hive.bees.every((b) => b.state === 'idle' && b.pid)) break;
      } catch (e) {
        lastErr = e;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `colony not idle within ${IDLE_TIMEOUT_MS} ms: ${lastErr ? lastErr.message : JSON.stringify(colony?.hives?.map((h) => h.bees?.map((b) => b.state)))}`,
        );
      }
      if (!isAlive(queen.pid)) throw new Error('queen exited while waiting for the colony to go idle');
      await sleep(100);
    }
    const idleMs = Date.now() - startedAt;

    await sleep(SETTLE_MS);
    colony = await getColony(); // fresh tree RSS from the hive's monitor
    const hive = colony.hives[0];
    const hivePid = hive.resources.pid;
    const bees = hive.bees;

    const rss = (pid, what) => {
      const v = readRssBytes(pid);
      if (v === null) throw new Error(`${what} (pid ${pid}) is gone; cannot read its RSS`);
      return v;
    };
    const queenRss = rss(queen.pid, 'queen');
    const hiveRss = rss(hivePid, 'hive');
    rows.push({ metric: 'queen', value: toMiB(queenRss), unit: 'MiB', note: `pid ${queen.pid}` });
    rows.push({ metric: 'hive', value: toMiB(hiveRss), unit: 'MiB', note: `pid ${hivePid}` });
    let total = queenRss + hiveRss;
    for (const b of bees) {
      const v = rss(b.pid, `bee ${b.id}`);
      total += v;
      const extra = descendantPids(b.pid).length;
      rows.push({
        metric: `bee ${b.id}`,
        value: toMiB(v),
        unit: 'MiB',
        baseline: toMiB(baselineBytes),
        ratio: round(v / baselineBytes, 2),
        note: `pid ${b.pid}; tree rssBytes (API) ${toMiB(b.rssBytes)} MiB${extra ? `; ${extra} child process(es)` : ''}`,
      });
    }
    rows.push({
      metric: `total (queen + hive + ${bees.length} bees)`,
      value: toMiB(total),
      unit: 'MiB',
      baseline: toMiB(baselineBytes),
      ratio: round(total / baselineBytes, 2),
      note: 'VmRSS sum; shared pages counted per process',
    });
    rows.push({ metric: 'time to ready line', value: readyMs, unit: 'ms' });
    rows.push({ metric: 'time to all bees idle', value: idleMs, unit: 'ms' });
  } catch (e) {
    const tail = stderr();
    if (tail.length) e.message += `\nqueen stderr (tail):\n${tail.join('\n')}`;
    throw e;
  } finally {
    // Teardown: SIGTERM the queen (it cascades), then check every colony pid goes within the bound.
    for (const p of descendantPids(queen.pid)) colonyPids.add(p);
    const pids = [...colonyPids];
    const t0 = Date.now();
    if (isAlive(queen.pid)) queen.kill('SIGTERM');
    const survivors = await waitForGone(pids, TEARDOWN_TIMEOUT_MS);
    const teardownMs = Date.now() - t0;
    queen.stdin.destroy();
    if (survivors.length > 0) {
      ctx.log(`still alive ${TEARDOWN_TIMEOUT_MS} ms after SIGTERM: ${survivors.join(', ')}; SIGKILL`);
      signalPids(survivors, 'SIGKILL');
      for (const p of survivors) await killTree(p);
      rows.push({
        metric: 'teardown: SIGTERM -> all gone',
        value: 'FAIL',
        unit: '',
        ok: false,
        note: `${survivors.length} of ${pids.length} pids survived ${TEARDOWN_TIMEOUT_MS} ms (${survivors.join(', ')}); SIGKILLed`,
      });
    } else {
      rows.push({ metric: 'teardown: SIGTERM -> all gone', value: teardownMs, unit: 'ms', note: `${pids.length} pids checked` });
    }
    await removeTempDir(tmp);
  }
  return rows;
}
