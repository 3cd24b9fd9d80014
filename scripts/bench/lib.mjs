// Shared helpers for the bench suites (plain ESM, Node >= 20, Linux /proc for the process helpers).
//
// Every process a suite starts should go through spawnTracked() (or runCommand(), which uses it): it
// tags the process's environment with BENCH_TAG, which its children inherit. However a suite ends,
// the runner then finds and kills anything still carrying the tag (see reapStragglers), even
// processes that were re-parented after their parent died. Temp dirs made with makeTempDir() are
// likewise removed by the runner if a suite forgot them. Suites still clean up for themselves
// (try/finally); the runner's sweep is a safety net and reports what it had to clean as a failure.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readProcEnviron, readProcStat, readStatusMemory } from '@apiary/runtime';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = path.join(REPO_ROOT, 'scripts', 'bench');
export const NODE = process.execPath;
export const KEEPER_BIN = path.join(REPO_ROOT, 'services', 'keeper', 'bin', 'keeper.js');
export const QUEEN_BIN = path.join(REPO_ROOT, 'services', 'queen', 'bin', 'queen.js');
export const BASELINE_DUCKDB = path.join(BENCH_DIR, 'baseline-duckdb.mjs');

/** Env var set on every process the bench starts (inherited by their children). */
export const BENCH_TAG_VAR = 'APIARY_BENCH_TAG';
export const BENCH_TAG = `${process.pid}-${randomBytes(6).toString('hex')}`;

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

export function median(xs) {
  return percentile(xs, 50);
}

/** Linear-interpolated percentile, p in [0, 100]. NaN for an empty list. */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return v[lo] + (v[hi] - v[lo]) * (rank - lo);
}

export function mean(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length === 0 ? NaN : v.reduce((s, x) => s + x, 0) / v.length;
}

export function round(x, digits = 1) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function toMiB(bytes) {
  return bytes == null ? null : round(bytes / MiB, 1);
}

/** Integer env var with a default and a floor, e.g. intEnv('BENCH_RUNS', 7, 1). */
export function intEnv(name, dflt, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function randomToken(len = 32) {
  // base64url of enough bytes, cut to exactly len chars of [A-Za-z0-9_-].
  return randomBytes(Math.ceil((len * 3) / 4) + 1)
    .toString('base64url')
    .slice(0, len);
}

/** Race a promise against a timeout (rejects with a labelled error; clears its timer either way). */
export async function withTimeout(promise, ms, label) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Temp dirs

const liveTempDirs = new Set();

/** mkdtemp under os.tmpdir(); tracked so the runner can remove it if a suite does not. */
export async function makeTempDir(prefix = 'apiary-bench-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir) {
  if (!dir) return;
  await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  liveTempDirs.delete(dir);
}

/** Remove every tracked temp dir still present; returns the ones it removed. */
export async function removeLeftoverTempDirs() {
  const left = [...liveTempDirs];
  for (const d of left) await removeTempDir(d).catch(() => undefined);
  return left;
}

/** Run fn(env, home) with a fresh APIARY_HOME temp dir, removed afterwards whatever happens. */
export async function withTempApiaryHome(fn, prefix = 'apiary-bench-home-') {
  const home = await makeTempDir(prefix);
  try {
    return await fn({ ...process.env, APIARY_HOME: home }, home);
  } finally {
    await removeTempDir(home);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc helpers (Linux)

/** /proc/<pid>/stat: { pid, comm, state, ppid, pgid } or null if the process is gone (runtime's one parser). */
export function readStat(pid) {
  const s = readProcStat(pid);
  return s && { pid, comm: s.comm, state: s.state, ppid: s.ppid, pgid: s.pgrp };
}

/** VmRSS of a process in bytes (from /proc/<pid>/status, runtime's reader), or null if it is gone / a zombie. */
export function readRssBytes(pid) {
  return readStatusMemory(pid)?.VmRSS ?? null;
}

function allPids() {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid) {
  if (!pid) return false;
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Every live descendant of rootPid (not rootPid itself), found by scanning /proc/<pid>/stat ppid. */
export function descendantPids(rootPid) {
  const children = new Map();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(pid);
  }
  const out = [];
  const queue = [rootPid];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Live processes whose environment carries BENCH_TAG (i.e. started by this bench run, or their children). */
export function findTaggedPids(tag = BENCH_TAG) {
  const out = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    // null: gone, or not ours to read
    if (readProcEnviron(pid)?.[BENCH_TAG_VAR] === tag && isAlive(pid)) out.push(pid);
  }
  return out;
}

export function signalPids(pids, signal) {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** Poll until none of the pids is alive; returns the ones still alive after timeoutMs (empty = all gone). */
export async function waitForGone(pids, timeoutMs, pollMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await sleep(pollMs);
  }
}

/** SIGKILL a process, its descendants and its process group; wait (bounded) until they are gone. */
export async function killTree(pid, timeoutMs = 3000) {
  if (!pid) return [];
  const pids = [pid, ...descendantPids(pid)];
  try {
    process.kill(-pid, 'SIGKILL'); // its group, if it leads one (we spawn detached)
  } catch {
    // not a group leader or already gone
  }
  signalPids(pids, 'SIGKILL');
  return waitForGone(pids, timeoutMs);
}

/**
 * Kill every process still carrying BENCH_TAG (SIGKILL, a few passes, bounded). Returns what it found
 * as [{ pid, comm }] so the caller can report it: a suite that leaves anything behind is a bug.
 */
export async function reapStragglers(timeoutMs = 5000) {
  const found = new Map();
  const deadline = Date.now() + timeoutMs;
  for (let pass = 0; pass < 10 && Date.now() < deadline; pass++) {
    const pids = findTaggedPids();
    if (pids.length === 0) break;
    for (const p of pids) if (!found.has(p)) found.set(p, readStat(p)?.comm ?? '?');
    signalPids(pids, 'SIGKILL');
    await waitForGone(pids, Math.max(0, Math.min(1000, deadline - Date.now())));
  }
  return [...found].map(([pid, comm]) => ({ pid, comm }));
}

// ---------------------------------------------------------------------------------------------
// Spawning and timing

const liveChildren = new Set();
let spawnsRefused = false;

/** After this, spawnTracked throws: the runner calls it when interrupted, before its final sweep. */
export function refuseSpawns() {
  spawnsRefused = true;
}

/**
 * spawn() with the bench tag in its env and, by default, its own process group (detached) so a
 * group kill reaches it. The child is tracked until it exits. Returns the ChildProcess with an extra
 * `exited` promise resolving to { code, signal, atNs } (atNs = hrtime when 'exit' fired).
 */
export function spawnTracked(cmd, args, opts = {}) {
  if (spawnsRefused) throw new Error('the bench is shutting down; not starting more processes');
  const { env = process.env, detached = true, ...rest } = opts;
  const child = spawn(cmd, args, {
    cwd: REPO_ROOT,
    ...rest,
    detached,
    env: { ...env, [BENCH_TAG_VAR]: BENCH_TAG },
  });
  liveChildren.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal, atNs: process.hrtime.bigint() });
    });
    child.once('error', (err) => {
      liveChildren.delete(child);
      resolve({ code: null, signal: null, error: err, atNs: process.hrtime.bigint() });
    });
  });
  return child;
}

/** SIGKILL every tracked child's tree (used by the runner on interrupt). */
export async function killTrackedChildren() {
  for (const c of [...liveChildren]) await killTree(c.pid, 1000).catch(() => undefined);
}

/**
 * Run a command to completion: { code, signal, stdout, stderr, wallMs, timedOut }. wallMs runs from
 * spawn to the process's exit. On timeout the command's tree is SIGKILLed. Never throws for a
 * failing command; see timeCommand for that.
 */
export async function runCommand(cmd, args, opts = {}) {
  const { timeoutMs = 60_000, input, maxOutput = 1 << 20, ...spawnOpts } = opts;
  const startNs = process.hrtime.bigint();
  const child = spawnTracked(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    if (stdout.length < maxOutput) stdout += d;
  });
  child.stderr?.on('data', (d) => {
    if (stderr.length < maxOutput) stderr += d;
  });
  child.stdin?.on('error', () => undefined);
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killTree(child.pid, 1000);
  }, timeoutMs);
  const r = await child.exited;
  clearTimeout(timer);
  // Let the pipes drain, but do not wait forever on a grandchild that kept them open.
  await withTimeout(Promise.all([once(child.stdout, 'close'), once(child.stderr, 'close')]), 2000, 'stdio close').catch(() => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  });
  return {
    code: r.code,
    signal: r.signal,
    error: r.error,
    stdout,
    stderr,
    timedOut,
    wallMs: Number(r.atNs - startNs) / 1e6,
    pid: child.pid,
  };
}

function once(stream, event) {
  if (!stream || stream.destroyed || stream.closed) return Promise.resolve();
  return new Promise((r) => stream.once(event, r));
}

/** runCommand, but throws (with the stderr tail) unless it exits 0 in time. Returns the same record. */
export async function timeCommand(cmd, args, opts = {}) {
  const r = await runCommand(cmd, args, opts);
  if (r.timedOut || r.code !== 0) {
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : r.error ? r.error.message : `exited ${r.signal ?? `code ${r.code}`}`;
    const tail = r.stderr.trim().split('\n').slice(-10).join('\n');
    throw new Error(`${path.basename(cmd)} ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}: ${why}${tail ? `\n${tail}` : ''}`);
  }
  return r;
}

/** timeCommand with a fresh APIARY_HOME temp dir for this one run, removed afterwards. */
export function timeWithTempHome(cmd, args, opts = {}) {
  return withTempApiaryHome((env) => timeCommand(cmd, args, { ...opts, env: { ...(opts.env ?? process.env), APIARY_HOME: env.APIARY_HOME } }));
}

/**
 * Spawn a long-lived process with a fresh APIARY_HOME. Returns { child, home, stop() } where stop()
 * SIGKILLs its tree if still alive and removes the home dir; call it in a finally.
 */
export async function spawnWithTempHome(cmd, args, opts = {}) {
  const home = await makeTempDir('apiary-bench-home-');
  let child;
  try {
    child = spawnTracked(cmd, args, { ...opts, env: { ...(opts.env ?? process.env), APIARY_HOME: home } });
  } catch (e) {
    await removeTempDir(home);
    throw e;
  }
  return {
    child,
    home,
    async stop() {
      if (isAlive(child.pid)) await killTree(child.pid);
      await removeTempDir(home);
    },
  };
}

/** Resolve with the first stdout line of a child that parses as JSON (bounded by timeoutMs). */
export function readJsonLine(child, timeoutMs, label = 'child') {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (fn, v) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      fn(v);
    };
    const timer = setTimeout(() => done(reject, new Error(`${label}: no JSON line on stdout within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          return done(resolve, JSON.parse(line));
        } catch {
          return done(reject, new Error(`${label}: unexpected stdout line: ${line.slice(0, 200)}`));
        }
      }
    };
    child.stdout.on('data', onData);
    // On exit, let stdout drain first (the line may still be in the pipe), then give up.
    child.exited
      .then((r) =>
        withTimeout(once(child.stdout, 'close'), 1000, 'stdout close')
          .catch(() => undefined)
          .then(() => r),
      )
      .then((r) => done(reject, new Error(`${label}: exited (${r.signal ?? `code ${r.code}`}) before printing its JSON line`)));
  });
}

/** Keep the last n lines of a stream (for error messages). */
export function tailLines(stream, n = 30) {
  const lines = [];
  let part = '';
  stream?.on('data', (d) => {
    const chunks = (part + d).split('\n');
    part = chunks.pop();
    lines.push(...chunks);
    if (lines.length > n) lines.splice(0, lines.length - n);
  });
  return () => [...lines, ...(part ? [part] : [])].slice(-n);
}
