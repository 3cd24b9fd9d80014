// Helpers for the suites that run a queen daemon (daemon-throughput, daemon-latency, hive-lost):
// start a daemon with a fresh APIARY_HOME, talk to its HTTP API (@apiary/client, keep-alive), start
// extra hives, run a raw IPC echo baseline, and tear everything down with a check that every pid
// of the colony is gone. Not a suite itself (it lives outside suites/).
//
// BENCH_DAEMON_NODE_OPTIONS, if set, becomes the daemon's NODE_OPTIONS (its hive and bees inherit
// it): e.g. --perf-basic-prof for `perf record -p <pid>`, or --require scripts/bench/prof-preload.cjs
// (see there) for .cpuprofile files. Off by default.
//
// Everything is started with lib.mjs's spawnTracked and every temp dir made with makeTempDir, so
// the runner's sweep still catches what a crashed suite leaves; the suites clean up for themselves.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { QueenClient } from '@apiary/client';
import { BEE_IPC_SERIALIZATION } from '@apiary/protocol';
import { readProcStat } from '@apiary/runtime';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BENCH_DIR,
  NODE,
  QUEEN_BIN,
  REPO_ROOT,
  descendantPids,
  isAlive,
  killTree,
  makeTempDir,
  readJsonLine,
  readStat,
  removeTempDir,
  signalPids,
  sleep,
  spawnTracked,
  tailLines,
  waitForGone,
  withTimeout,
} from './lib.mjs';

export const HIVE_BIN = path.join(REPO_ROOT, 'services', 'hive', 'bin', 'hive.js');
export const TASKS_MODULE = path.join(BENCH_DIR, 'tasks.mjs');
export const TASKS_URL = pathToFileURL(TASKS_MODULE).href;
export const IPC_ECHO = path.join(BENCH_DIR, 'ipc-echo.mjs');

const READY_TIMEOUT_MS = 20_000;
const IDLE_TIMEOUT_MS = 30_000;
const TEARDOWN_TIMEOUT_MS = 15_000;

/** The env a bench daemon or hive gets: ours minus anything that would point it elsewhere. */
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('APIARY_')) delete env[k];
  delete env.NODE_OPTIONS;
  if (process.env.BENCH_DAEMON_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_DAEMON_NODE_OPTIONS;
  return { ...env, APIARY_LOG_LEVEL: 'warn', ...extra };
}

/** A tiny task spec (kind js, tasks.mjs noop). */
export function noopSpec(i) {
  return { kind: 'js', module: TASKS_MODULE, export: 'noop', args: { i } };
}

// ---------------------------------------------------------------------------------------------
// HTTP

/**
 * The queen's API for a bench: @apiary/client's QueenClient (the keeper's and the tests' client:
 * every answer checked against its protocol schema; an error answer throws ApiaryError with its
 * code) over a keep-alive agent, cheaper per request than fetch on Node 20. close() drops the sockets.
 */
export function queenClient(baseUrl, token, { maxSockets = 16 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  const client = new QueenClient(baseUrl, token, { agentFor: () => agent });
  return Object.assign(client, { agent, close: () => agent.destroy() });
}

/**
 * Subscribe to GET /v1/events. onEvent(ev) is called with each `event: task` payload. Returns
 * { ready (resolves once the stream's first bytes arrived), close() }.
 */
export function subscribeEvents(baseUrl, token, onEvent) {
  const base = new URL(baseUrl);
  let req;
  const ready = new Promise((resolve, reject) => {
    req = http.request(
      { host: base.hostname, port: base.port, method: 'GET', path: '/v1/events', headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /v1/events: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        let first = true;
        res.on('data', (d) => {
          if (first) {
            first = false;
            resolve();
          }
          buf += d;
          for (let sep = buf.indexOf('\n\n'); sep >= 0; sep = buf.indexOf('\n\n')) {
            const block = buf.slice(0, sep);
            buf = buf.slice(sep + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (event === 'task' && data) onEvent(JSON.parse(data));
          }
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end();
  });
  return { ready: withTimeout(ready, 5000, 'event stream'), close: () => req?.destroy() };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** utime + stime of a process in ms (from /proc/<pid>/stat, runtime's one parser), or null if it is gone. */
export function cpuMsOf(pid) {
  return readProcStat(pid)?.cpuMs ?? null;
}

/** Read- and write-type syscalls of a process so far ({ r, w } from /proc/<pid>/io), or null. */
export function syscallsOf(pid) {
  let s;
  try {
    s = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return null;
  }
  const r = /^syscr:\s+(\d+)/m.exec(s);
  const w = /^syscw:\s+(\d+)/m.exec(s);
  return r && w ? { r: Number(r[1]), w: Number(w[1]) } : null;
}

/**
 * Start a queen daemon: `queen.js --port 0 --bees N --memory-per-bee 256MiB` with a fresh
 * APIARY_HOME. Resolves once it printed its ready line and (unless noLocalHive) its local hive has
 * all bees idle. The returned handle must be stopped (stop()) in a finally.
 */
export async function startDaemon(ctx, opts = {}) {
  const { bees = 2, memoryPerBee = '256MiB', noLocalHive = false, nodeArgs = [], env = {}, extraArgs = [] } = opts;
  const home = await makeTempDir('apiary-bench-daemon-');
  const args = [...nodeArgs, QUEEN_BIN, '--port', '0', '--bees', String(bees), '--memory-per-bee', memoryPerBee, ...extraArgs];
  if (noLocalHive) args.push('--no-local-hive');
  let child;
  try {
    child = spawnTracked(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv({ APIARY_HOME: home, ...env }) });
  } catch (e) {
    await removeTempDir(home);
    throw e;
  }
  const stderr = tailLines(child.stderr, 40);
  const d = {
    child,
    home,
    pid: child.pid,
    url: '',
    port: 0,
    token: '',
    api: null,
    /** Every pid of the colony we have seen (queen, hives, bees), for the teardown check. */
    pids: new Set([child.pid]),
    extraHives: [],
    stderr,
    colony: () => d.api.colony(),
    /** Record the pids a colony view shows. */
    note(colony) {
      for (const h of colony?.hives ?? []) {
        if (h.resources?.pid) d.pids.add(h.resources.pid);
        for (const b of h.bees ?? []) if (b.pid) d.pids.add(b.pid);
      }
    },
    /** Poll /v1/colony until pred(colony) is true (bounded). */
    async waitColony(pred, what, timeoutMs = IDLE_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      let last;
      let lastErr;
      for (;;) {
        if (ctx.signal?.aborted) throw new Error('aborted');
        try {
          last = await d.colony();
          lastErr = undefined;
          d.note(last);
          if (pred(last)) return last;
        } catch (e) {
          lastErr = e;
        }
        if (!isAlive(child.pid)) throw new Error(`queen exited while waiting for ${what}`);
        if (Date.now() >= deadline) {
          const state = JSON.stringify(last?.hives?.map((h) => ({ name: h.resources?.name, bees: h.bees?.map((b) => b.state) })));
          throw new Error(`${what} not reached within ${timeoutMs} ms: ${lastErr ? lastErr.message : state}`);
        }
        await sleep(50);
      }
    },
    /** SIGTERM the queen and check that every colony pid goes; returns { ok, ms, pids, survivors }. */
    stop: () => stopDaemon(ctx, d),
  };
  try {
    const ready = await readJsonLine(child, READY_TIMEOUT_MS, 'queen');
    child.stdout.resume(); // keep draining whatever else it prints
    if (ready.type !== 'ready' || !ready.url) throw new Error(`queen: unexpected first line ${JSON.stringify(ready)}`);
    d.url = ready.url;
    d.port = Number(new URL(ready.url).port);
    d.token = readFileSync(path.join(home, 'tokens', 'client.token'), 'utf8').trim();
    d.joinToken = readFileSync(path.join(home, 'tokens', 'join.token'), 'utf8').trim();
    d.api = queenClient(d.url, d.token);
    if (!noLocalHive) {
      await d.waitColony((c) => allIdle(c.hives?.[0], bees), 'local hive with all bees idle');
    }
    return d;
  } catch (e) {
    const tail = stderr();
    if (tail.length) e.message += `\nqueen stderr (tail):\n${tail.join('\n')}`;
    await stopDaemon(ctx, d).catch(() => undefined);
    throw e;
  }
}

export function allIdle(hive, bees) {
  return !!hive && hive.bees?.length === bees && hive.bees.every((b) => b.state === 'idle' && b.pid);
}

/**
 * Start a separate hive joining daemon d: `hive.js --queen ws://127.0.0.1:<port>/v1/hive --name N
 * --bees B --memory-per-bee 256MiB --cache-dir <tmp>`. Resolves once the queen lists it (by pid)
 * with all its bees idle. Returns { child, pid, cacheDir, beePids, stop() }.
 */
export async function startHive(_ctx, d, { name = 'second', bees = 1, memoryPerBee = '256MiB', nodeArgs = [] } = {}) {
  const cacheDir = await makeTempDir('apiary-bench-hive-');
  let child;
  try {
    child = spawnTracked(
      NODE,
      [
        ...nodeArgs,
        HIVE_BIN,
        '--queen',
        `ws://127.0.0.1:${d.port}/v1/hive`,
        '--name',
        name,
        '--bees',
        String(bees),
        '--memory-per-bee',
        memoryPerBee,
        '--cache-dir',
        cacheDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv({ APIARY_HOME: d.home, APIARY_JOIN_TOKEN: d.joinToken }) },
    );
  } catch (e) {
    await removeTempDir(cacheDir);
    throw e;
  }
  child.stdout.resume();
  const stderr = tailLines(child.stderr, 20);
  const h = {
    child,
    pid: child.pid,
    cacheDir,
    beePids: [],
    stderr,
    /** SIGKILL its tree (if still there), wait for its pids to go, remove its cache dir. Returns survivors. */
    async stop() {
      const pids = [child.pid, ...h.beePids, ...descendantPids(child.pid)];
      signalPids(pids, 'SIGKILL');
      let survivors = await waitForGone(pids, 5000);
      if (survivors.length > 0) {
        for (const p of survivors) await killTree(p);
        survivors = await waitForGone(survivors, 2000);
      }
      await removeTempDir(cacheDir);
      d.extraHives = d.extraHives.filter((x) => x !== h);
      return survivors;
    },
  };
  d.extraHives.push(h);
  d.pids.add(child.pid);
  try {
    const colony = await d.waitColony(
      (c) =>
        allIdle(
          c.hives?.find((x) => x.resources?.pid === child.pid),
          bees,
        ),
      `hive ${name} joined with all bees idle`,
    );
    h.beePids = colony.hives.find((x) => x.resources.pid === child.pid).bees.map((b) => b.pid);
    return h;
  } catch (e) {
    const tail = stderr();
    if (tail.length) e.message += `\nhive stderr (tail):\n${tail.join('\n')}`;
    await h.stop();
    throw e;
  }
}

async function stopDaemon(ctx, d) {
  const t0 = Date.now();
  d.api?.close();
  for (const h of [...d.extraHives]) await h.stop().catch(() => undefined);
  // Whatever is alive now belongs to the colony: take a last look before the cascade.
  for (const p of descendantPids(d.child.pid)) d.pids.add(p);
  const pids = [...d.pids];
  if (isAlive(d.child.pid)) d.child.kill('SIGTERM');
  const survivors = await waitForGone(pids, TEARDOWN_TIMEOUT_MS);
  const ms = Date.now() - t0;
  if (survivors.length > 0) {
    ctx.log(`still alive ${TEARDOWN_TIMEOUT_MS} ms after SIGTERM: ${survivors.map((p) => `${p} (${readStat(p)?.comm ?? '?'})`).join(', ')}; SIGKILL`);
    for (const p of survivors) await killTree(p);
  }
  // The exit event itself (so the child is no longer tracked), bounded.
  await withTimeout(d.child.exited, 3000, 'queen exit').catch(() => undefined);
  await removeTempDir(d.home);
  return { ok: survivors.length === 0, ms, pids: pids.length, survivors };
}

/** A row for the teardown check. */
export function teardownRow(r) {
  return r.ok
    ? { metric: 'teardown: SIGTERM -> all gone', value: r.ms, unit: 'ms', note: `${r.pids} pids checked` }
    : { metric: 'teardown: SIGTERM -> all gone', value: 'FAIL', unit: '', ok: false, note: `${r.survivors.length} of ${r.pids} pids survived; SIGKILLed` };
}

// ---------------------------------------------------------------------------------------------
// Raw IPC baseline: what a hive ↔ bee hop costs with nothing else in the way.

/** Start `children` ipc-echo processes (the serialization a hive forks its bees with) and wait for their ready messages. */
export async function startEchoChildren(n) {
  const kids = [];
  try {
    for (let i = 0; i < n; i++) {
      const c = spawnTracked(NODE, [IPC_ECHO], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: BEE_IPC_SERIALIZATION });
      c.stderr.resume();
      kids.push(c);
    }
    await withTimeout(Promise.all(kids.map((c) => new Promise((resolve) => c.once('message', resolve)))), 10_000, 'ipc-echo ready');
    return kids;
  } catch (e) {
    await stopEchoChildren(kids);
    throw e;
  }
}

export async function stopEchoChildren(kids) {
  for (const c of kids) {
    try {
      if (c.connected) c.disconnect();
    } catch {
      // gone
    }
  }
  const left = await waitForGone(
    kids.map((c) => c.pid),
    3000,
  );
  for (const p of left) await killTree(p);
  return left;
}

/** A message shaped like the hive's `run` message to a bee. */
export function runMessage(i, scratchDir = '/tmp/apiary-bench-scratch') {
  return { type: 'run', taskId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, spec: noopSpec(i), scratchDir };
}

/**
 * `total` round trips spread over the children, each child kept `depth` messages deep. Resolves
 * { ms, perSec, latencies? } (latencies in ms per round trip when recordLatency). `batched`: as the
 * hive's bee pipeline, the tasks freed in one turn go to a child as one `runs` message (results
 * still come back one by one).
 */
export function echoRoundTrips(kids, total, depth = 1, { recordLatency = false, timeoutMs = 120_000, batched = false } = {}) {
  const per = Math.ceil(total / kids.length);
  const lat = recordLatency ? [] : null;
  const t0 = process.hrtime.bigint();
  const one = (c) =>
    new Promise((resolve, reject) => {
      let sent = 0;
      let got = 0;
      const sentAt = [];
      const onMsg = (m) => {
        if (m?.type !== 'result') return;
        if (lat) lat.push(Number(process.hrtime.bigint() - sentAt[got]) / 1e6);
        got++;
        if (got >= per) {
          c.off('message', onMsg);
          c.off('exit', onExit);
          resolve();
          return;
        }
        if (sent >= per) return;
        if (!batched) send();
        else if (!flushing) {
          flushing = true;
          setImmediate(fill);
        }
      };
      const onExit = () => reject(new Error(`ipc-echo ${c.pid} exited mid-run`));
      let flushing = false;
      const send = () => {
        if (lat) sentAt[sent] = process.hrtime.bigint();
        c.send(runMessage(sent++));
      };
      // Every free slot at once, one message.
      const fill = () => {
        flushing = false;
        const tasks = [];
        while (sent < per && sent - got < depth) {
          if (lat) sentAt[sent] = process.hrtime.bigint();
          const { type: _t, ...run } = runMessage(sent++);
          tasks.push(run);
        }
        if (tasks.length > 0) c.send({ type: 'runs', tasks });
      };
      c.on('message', onMsg);
      c.once('exit', onExit);
      if (batched) fill();
      else for (let k = 0; k < depth && sent < per; k++) send();
    });
  return withTimeout(Promise.all(kids.map(one)), timeoutMs, 'ipc round trips').then(() => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, perSec: (per * kids.length) / (ms / 1000), latencies: lat };
  });
}
