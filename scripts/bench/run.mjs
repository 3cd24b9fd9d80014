#!/usr/bin/env node
// Bench runner: `npm run bench [-- <name-substring>...] [--json [PATH]] [--list]`
//
// Discovers suites in scripts/bench/suites/*.mjs. A suite module exports:
//   name         string, short and unique (used for filtering and in the JSON)
//   description  string, one line
//   run(ctx)     async, returns an array of rows { metric, value, unit, baseline?, ratio?, note?, ok? }
//                (ok: false marks a correctness failure, e.g. a process left behind; the run then
//                exits 1). Throwing marks the suite ERROR.
//   order?       number, optional; suites run by (order ?? 100, file name)
//   timeoutMs?   number, optional; whole-suite bound (default 10 min)
// ctx = { repoRoot, runs, signal, log(msg) }; shared helpers live in ./lib.mjs.
//
// Options:
//   <substring>...  run only suites whose name (or file name) contains one of them (case-insensitive)
//   --json [PATH]   also write the results as JSON to PATH (default bench-results.json), relative to
//                   the cwd; without --json nothing is written. The word after --json is taken as
//                   PATH unless it starts with "--"; --json=PATH also works.
//   --list          list the suites and exit
// Env: BENCH_RUNS (default 7) repetitions for timing suites.

import { readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, REPO_ROOT, intEnv, killTrackedChildren, reapStragglers, refuseSpawns, removeLeftoverTempDirs } from './lib.mjs';

const SUITES_DIR = path.join(BENCH_DIR, 'suites');
const DEFAULT_SUITE_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_JSON = 'bench-results.json';

function parseCli(argv) {
  const filters = [];
  let json = null;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        json = next;
        i++;
      } else json = DEFAULT_JSON;
    } else if (a.startsWith('--json=')) json = a.slice('--json='.length) || DEFAULT_JSON;
    else if (a === '--list') list = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run bench [-- <name-substring>...] [--json [PATH]] [--list]\n');
      process.exit(0);
    } else if (a.startsWith('-')) {
      process.stderr.write(`bench: unknown option ${a}\n`);
      process.exit(2);
    } else filters.push(a.toLowerCase());
  }
  return { filters, json: json && path.resolve(process.cwd(), json), list };
}

async function discover() {
  const files = (await readdir(SUITES_DIR)).filter((f) => f.endsWith('.mjs')).sort();
  const suites = [];
  for (const file of files) {
    const full = path.join(SUITES_DIR, file);
    try {
      const mod = await import(pathToFileURL(full).href);
      const problems = [];
      if (typeof mod.name !== 'string' || !mod.name) problems.push('name');
      if (typeof mod.description !== 'string') problems.push('description');
      if (typeof mod.run !== 'function') problems.push('run()');
      if (problems.length > 0) throw new Error(`missing or invalid export(s): ${problems.join(', ')}`);
      suites.push({
        file,
        name: mod.name,
        description: mod.description,
        run: mod.run,
        order: Number(mod.order ?? 100),
        timeoutMs: Number(mod.timeoutMs ?? DEFAULT_SUITE_TIMEOUT_MS),
      });
    } catch (e) {
      suites.push({ file, name: path.basename(file, '.mjs'), description: '(failed to load)', loadError: e, order: Number.NEGATIVE_INFINITY });
    }
  }
  return suites.sort((a, b) => a.order - b.order || a.file.localeCompare(b.file));
}

// ---------------------------------------------------------------------------------------------
// Output

const decimalsOf = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.min(2, (String(v).split('.')[1] ?? '').length) : 0);
const fmt = (v, decimals) => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' && Number.isFinite(v)) return v.toFixed(decimals ?? decimalsOf(v));
  return String(v);
};

function table(rows) {
  const cols = [
    { key: 'metric', title: 'metric' },
    { key: 'value', title: 'value', right: true },
    { key: 'unit', title: 'unit' },
    { key: 'baseline', title: 'baseline', right: true },
    { key: 'ratio', title: 'ratio', right: true },
    { key: 'note', title: 'note' },
  ];
  // Same number of decimals for the numbers of one column that share a unit, so they line up.
  const places = new Map();
  for (const r of rows)
    for (const k of ['value', 'baseline', 'ratio']) {
      const key = `${k}|${k === 'ratio' ? '' : r.unit}`;
      places.set(key, Math.max(places.get(key) ?? 0, decimalsOf(r[k])));
    }
  const cells = rows.map((r) =>
    cols.map((c) => {
      const d = places.get(`${c.key}|${c.key === 'ratio' ? '' : r.unit}`);
      const s = c.key === 'ratio' && typeof r.ratio === 'number' ? `${fmt(r.ratio, d)}x` : fmt(r[c.key], d);
      return c.key === 'metric' && r.ok === false ? `${s} [FAIL]` : s;
    }),
  );
  const used = cols.map((_c, i) => i < 3 || cells.some((row) => row[i] !== ''));
  const width = cols.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const line = (vals) =>
    vals
      .map((v, i) => (used[i] ? (cols[i].right ? v.padStart(width[i]) : v.padEnd(width[i])) : null))
      .filter((v) => v !== null)
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.title)), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].map((l) => `  ${l}`).join('\n');
}

const out = (s = '') => process.stdout.write(s + '\n');

// ---------------------------------------------------------------------------------------------

async function runSuite(suite, runs) {
  const started = Date.now();
  const result = { name: suite.name, file: suite.file, description: suite.description, status: 'ok', durationMs: 0, rows: [], problems: [] };
  const ac = new AbortController();
  let timer;
  try {
    if (suite.loadError) throw suite.loadError;
    const ctx = {
      repoRoot: REPO_ROOT,
      runs,
      signal: ac.signal,
      log: (msg) => process.stderr.write(`  [${suite.name}] ${msg}\n`),
    };
    const rows = await Promise.race([
      suite.run(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          ac.abort();
          reject(new Error(`suite timed out after ${suite.timeoutMs} ms`));
        }, suite.timeoutMs);
      }),
    ]);
    if (!Array.isArray(rows)) throw new Error('run() did not return an array of rows');
    result.rows = rows;
    if (rows.some((r) => r?.ok === false)) result.status = 'FAIL';
  } catch (e) {
    result.status = 'ERROR';
    result.error = e?.stack ?? String(e);
  } finally {
    clearTimeout(timer);
    // Safety net: anything the suite left behind is killed / removed here, and reported.
    const stragglers = await reapStragglers();
    if (stragglers.length > 0) {
      result.problems.push(`left ${stragglers.length} process(es) running, killed: ${stragglers.map((p) => `${p.pid} (${p.comm})`).join(', ')}`);
      if (result.status === 'ok') result.status = 'FAIL';
    }
    const dirs = await removeLeftoverTempDirs();
    if (dirs.length > 0) {
      result.problems.push(`left ${dirs.length} temp dir(s), removed: ${dirs.join(', ')}`);
      if (result.status === 'ok') result.status = 'FAIL';
    }
    result.durationMs = Date.now() - started;
  }
  return result;
}

async function main() {
  const { filters, json, list } = parseCli(process.argv.slice(2));
  const all = await discover();
  if (list) {
    for (const s of all) out(`${s.name.padEnd(20)} ${s.description}${s.loadError ? `  (load error: ${s.loadError.message})` : ''}`);
    return 0;
  }
  const selected = filters.length === 0 ? all : all.filter((s) => filters.some((f) => s.name.toLowerCase().includes(f) || s.file.toLowerCase().includes(f)));
  if (selected.length === 0) {
    process.stderr.write(`bench: no suite matches ${filters.join(', ')} (have: ${all.map((s) => s.name).join(', ')})\n`);
    return 2;
  }
  const runs = intEnv('BENCH_RUNS', 7, 1);
  const cpus = os.cpus();
  const env = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model?.trim() ?? '?',
    cores: cpus.length,
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
  };
  out(`apiary bench — node ${env.node}, ${env.platform}, ${env.cores} cores (${env.cpu}), ${env.memoryMiB} MiB, BENCH_RUNS=${runs}`);

  const results = [];
  for (const suite of selected) {
    out();
    out(`== ${suite.name}: ${suite.description}`);
    const r = await runSuite(suite, runs);
    results.push(r);
    if (r.rows.length > 0) out(table(r.rows));
    if (r.error) out(`  ERROR: ${r.error.split('\n').join('\n  ')}`);
    for (const p of r.problems) out(`  FAIL: ${p}`);
    out(`  -- ${r.status} in ${(r.durationMs / 1000).toFixed(1)} s`);
  }

  out();
  out('== summary');
  for (const r of results) {
    out(`  ${r.status.padEnd(5)} ${r.name} (${(r.durationMs / 1000).toFixed(1)} s)`);
    for (const row of r.rows.filter((x) => typeof x.ratio === 'number' || x.ok === false)) {
      const vs = typeof row.ratio === 'number' ? `  ${fmt(row.ratio, 2)}x baseline ${fmt(row.baseline)} ${row.unit ?? ''}` : '';
      out(`        ${row.ok === false ? 'FAIL ' : ''}${row.metric}: ${fmt(row.value)} ${row.unit ?? ''}${vs}${row.note ? `  (${row.note})` : ''}`);
    }
  }
  const bad = results.filter((r) => r.status !== 'ok');
  out(bad.length === 0 ? `  all ${results.length} suite(s) ok` : `  ${bad.length} of ${results.length} suite(s) not ok: ${bad.map((r) => r.name).join(', ')}`);

  if (json) {
    const doc = {
      startedAt: new Date(Date.now() - results.reduce((s, r) => s + r.durationMs, 0)).toISOString(),
      env: { ...env, benchRuns: runs },
      suites: results,
    };
    await writeFile(json, JSON.stringify(doc, null, 2) + '\n');
    out(`  results written to ${json}`);
  }
  return bad.length === 0 ? 0 : 1;
}

// Ctrl-C / kill: take down whatever the bench started before leaving.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, cleaning up…\n`);
    refuseSpawns();
    const bail = setTimeout(() => process.exit(130), 8000);
    killTrackedChildren()
      .then(() => reapStragglers())
      .then(() => removeLeftoverTempDirs())
      .finally(() => {
        clearTimeout(bail);
        process.exit(130);
      });
  });
}

main().then(
  async (code) => {
    // Last sweep (a suite that timed out may still have been starting things).
    await reapStragglers().catch(() => undefined);
    await removeLeftoverTempDirs().catch(() => undefined);
    process.exit(code);
  },
  async (e) => {
    process.stderr.write(`bench: ${e?.stack ?? e}\n`);
    await reapStragglers().catch(() => undefined);
    await removeLeftoverTempDirs().catch(() => undefined);
    process.exit(1);
  },
);
