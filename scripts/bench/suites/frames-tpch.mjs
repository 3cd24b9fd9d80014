// Frames on a TPC-H-lineitem-like table: write throughput and the shapes of TPC-H Q1 (grouped sums
// and averages) and Q6 (a filtered sum), through a queen daemon (2 bees, 1 GiB each), against one
// plain DuckDB process with threads = cores doing the same work in the same run.
//
//   input   BENCH_LINEITEM_ROWS rows (default 10,000,000) in BENCH_LINEITEM_FILES Parquet files
//           (default 8), made by scripts/bench/gen-lineitem.mjs (range(), hash(), random(); no
//           tpch extension).
//   write   POST /v1/frames/lineitem/write { path: "<dir>/*.parquet" } → rows/s, against DuckDB
//           COPY (SELECT * FROM read_parquet('<dir>/*.parquet')) TO '<tmp>/copy.parquet'. Runs
//           BENCH_WRITE_RUNS times (default min(BENCH_RUNS, 3)), interleaved, the frame dropped
//           between runs; median. Target (issue 11): apiary/DuckDB ≥ 1.0. Also the write's
//           phases from the ledger (writePhases). BENCH_LINEITEM_FILES=1 writes one file, split
//           over the bees by row groups.
//   queries POST /v1/sql { sql } for Q1 and Q6, 1 warm-up (BENCH_WARMUP) then BENCH_RUNS runs,
//           interleaved with the same SQL in the DuckDB process on a view lineitem over
//           read_parquet([the frame's cells]) (from GET /v1/frames/lineitem); median. Targets:
//           apiary/DuckDB ≤ 1.1 for Q1, ≤ 1.2 for Q6. Results must match (Q6 revenue within relative 1e-9; Q1 the
//           same groups with the same counts, sums and averages within relative 1e-9), else the
//           row is marked FAIL. The plan (POST /v1/sql with explain) is reported: its kind and
//           number of groups (BENCH_EXPLAIN=1 also logs the whole explain text). BENCH_PHASES=1 adds
//           each query's phases (plan, map dispatch/run/return, merge, response) from the ledger.
//   fixed   the fixed cost of a frame query: SELECT count(*) over a 1-row frame through POST /v1/sql,
//           against the same SQL in the DuckDB process over the same cell file; 1 warm-up then
//           BENCH_FIXED_RUNS runs (default 21), interleaved; median. Reported as apiary − DuckDB
//           ms. Target: <= 25 ms. Runs first, before the big input is written.
//
// Times are wall times seen by the bench: the HTTP round trip for apiary, the stdin/stdout round
// trip to the warm DuckDB process (scripts/bench/duckdb-sql.mjs) for the baseline; neither pays a
// process start.

import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import {
  BENCH_DIR,
  NODE,
  intEnv,
  isAlive,
  killTree,
  makeTempDir,
  median,
  removeTempDir,
  round,
  spawnTracked,
  tailLines,
  timeCommand,
  waitForGone,
  withTimeout,
} from '../lib.mjs';
import { startDaemon, teardownRow } from '../daemon-lib.mjs';

export const name = 'frames-tpch';
export const description = 'frames: lineitem-like writes and Q1/Q6 vs DuckDB';
export const order = 50;
export const timeoutMs = 30 * 60_000;

const GEN_LINEITEM = path.join(BENCH_DIR, 'gen-lineitem.mjs');
const DUCKDB_SQL = path.join(BENCH_DIR, 'duckdb-sql.mjs');

const BEES = 2;
const MEMORY_PER_BEE = '1GiB';
const FRAME = 'lineitem';
const WRITE_TARGET = 1.0; // apiary rows/s ÷ DuckDB rows/s, at least
const QUERY_TARGETS = { Q1: 1.1, Q6: 1.2 }; // apiary ms ÷ DuckDB ms, at most (issue 11)
const FIXED_TARGET_MS = 25; // apiary ms − DuckDB ms for a query over a 1-row frame, at most
const TINY = 'one_row';
const REL_TOL = 1e-9;

const GEN_TIMEOUT_MS = 10 * 60_000;
const WRITE_TIMEOUT_MS = 10 * 60_000;
const QUERY_TIMEOUT_MS = 5 * 60_000;
const DUCK_READY_MS = 20_000;
const DUCK_EXIT_MS = 5000;

const Q1 = `SELECT
    l_returnflag,
    l_linestatus,
    sum(l_quantity) AS sum_qty,
    sum(l_extendedprice) AS sum_base_price,
    sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
    sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
    avg(l_quantity) AS avg_qty,
    avg(l_extendedprice) AS avg_price,
    avg(l_discount) AS avg_disc,
    count(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus`;

const Q6 = `SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= DATE '1994-01-01'
  AND l_shipdate < DATE '1995-01-01'
  AND l_discount BETWEEN 0.05 AND 0.07
  AND l_quantity < 24`;

// BENCH_PHASES=1: after each timed query, where its time went, from the ledger's view of its tasks.
const PHASES = process.env.BENCH_PHASES === '1';

const Q1_NUMBERS = ['sum_qty', 'sum_base_price', 'sum_disc_price', 'sum_charge', 'avg_qty', 'avg_price', 'avg_disc'];

export async function run(ctx) {
  const nRows = intEnv('BENCH_LINEITEM_ROWS', 10_000_000, 1);
  const nFiles = intEnv('BENCH_LINEITEM_FILES', 8, 1);
  const writeRuns = intEnv('BENCH_WRITE_RUNS', Math.min(ctx.runs, 3), 1);
  const warmup = intEnv('BENCH_WARMUP', 1, 0);
  const runs = ctx.runs;
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const rows = [];
  const checkAbort = () => {
    if (ctx.signal.aborted) throw new Error('aborted');
  };

  let inputDir;
  let copyDir;
  let d;
  let duck;
  let teardown;
  let duckGone = true;
  try {
    // --- Input.
    inputDir = await makeTempDir('apiary-bench-lineitem-');
    copyDir = await makeTempDir('apiary-bench-copy-');
    const g = await timeCommand(NODE, [GEN_LINEITEM, inputDir, '--rows', String(nRows), '--files', String(nFiles)], { timeoutMs: GEN_TIMEOUT_MS });
    const gen = lastJsonLine(g.stdout);
    if (gen?.type !== 'generated' || gen.rows !== nRows) throw new Error(`gen-lineitem: unexpected output ${g.stdout.slice(0, 300)}`);
    ctx.log(`generated ${nRows} rows in ${gen.files.length} files (${mib(gen.bytes)} MiB) in ${gen.ms} ms`);
    rows.push({
      metric: 'input: lineitem-like Parquet',
      value: nRows,
      unit: 'rows',
      note: `${gen.files.length} files, ${mib(gen.bytes)} MiB; generated in ${(gen.ms / 1000).toFixed(1)} s`,
    });
    const glob = path.join(inputDir, '*.parquet');

    // --- The daemon and the baseline process.
    checkAbort();
    d = await startDaemon(ctx, { bees: BEES, memoryPerBee: MEMORY_PER_BEE });
    duck = await startDuck(cores);
    ctx.log(`queen ${d.url}; DuckDB ${duck.version} baseline with ${duck.threads} threads`);

    // --- Fixed cost: a query over a 1-row frame.
    checkAbort();
    rows.push(...(await fixedCost(ctx, d, duck, copyDir, warmup)));

    // --- Write throughput, interleaved with the DuckDB COPY.
    const write = { apiary: [], duck: [], server: [], phases: [] };
    let lastWrite;
    const copyOut = path.join(copyDir, 'copy.parquet');
    for (let r = 0; r < writeRuns; r++) {
      checkAbort();
      if (r > 0) await d.api.dropFrame(FRAME);
      const t0 = performance.now();
      const wall0 = Date.now();
      // Each write task may take as long as the whole write is allowed (a loaded machine is slow, not broken).
      const res = await d.api.writeFrame(FRAME, { path: glob, timeoutMs: WRITE_TIMEOUT_MS });
      const ms = performance.now() - t0;
      write.phases.push(await writePhases(d, wall0, Date.now()));
      if (res.rows_written !== nRows) throw new Error(`write ${r + 1}: ${res.rows_written} rows written, expected ${nRows}`);
      write.apiary.push(ms);
      write.server.push(res.duration_ms);
      lastWrite = res;

      checkAbort();
      await rm(copyOut, { force: true });
      const c = await duck.sql(`COPY (SELECT * FROM read_parquet(${lit(glob)})) TO ${lit(copyOut)} (FORMAT parquet)`, WRITE_TIMEOUT_MS);
      const copied = Number(c.rows[0]?.Count ?? c.rows[0]?.count ?? NaN);
      if (copied !== nRows) throw new Error(`DuckDB COPY ${r + 1}: ${copied} rows, expected ${nRows}`);
      write.duck.push(c.wallMs);
      ctx.log(`write ${r + 1}/${writeRuns}: apiary ${ms.toFixed(0)} ms (${res.cells_written} cells), DuckDB COPY ${c.wallMs.toFixed(0)} ms`);
    }
    await rm(copyOut, { force: true });
    const wA = nRows / (median(write.apiary) / 1000);
    const wB = nRows / (median(write.duck) / 1000);
    const wRatio = round(wA / wB, 2);
    rows.push({
      metric: `write ${FRAME} (median)`,
      value: Math.round(wA),
      unit: 'rows/s',
      baseline: Math.round(wB),
      ratio: wRatio,
      note: `apiary ${ms0(median(write.apiary))} ms (queen ${ms0(median(write.server))}) vs DuckDB COPY ${ms0(median(write.duck))} ms; ${writeRuns} runs; target >= ${WRITE_TARGET}x: ${wRatio >= WRITE_TARGET ? 'met' : 'MISSED'}`,
    });

    Object.entries(medianPhases(write.phases)).forEach(([phase, v], i) => {
      rows.push({
        metric: `  write phase: ${phase} (median)`,
        value: v,
        unit: 'ms',
        note: i === 0 ? "from the ledger: the write's tasks created, started, run, finished" : '',
      });
    });

    // --- The frame's cells, for the baseline view.
    const frame = await d.api.frame(FRAME);
    const cells = frame.cellList.map((c) => path.join(frame.dataRoot, c.path));
    const cellRows = frame.cellList.reduce((n, c) => n + c.rows, 0);
    if (cells.length === 0 || cellRows !== nRows) throw new Error(`frame ${FRAME}: ${cells.length} cells with ${cellRows} rows, expected ${nRows} rows`);
    const cellBytes = frame.cellList.map((c) => c.bytes);
    rows.push({
      metric: `  frame cells`,
      value: cells.length,
      unit: 'cells',
      note: `${mib(cellBytes.reduce((a, b) => a + b, 0))} MiB in all, ${mib(Math.min(...cellBytes))}–${mib(Math.max(...cellBytes))} MiB each; v${lastWrite.version}, ${BEES} bees x ${MEMORY_PER_BEE}`,
    });
    // The cells hold exactly the input's rows: count and an order-free hash of every whole row.
    const digest = async (from) => (await duck.sql(`SELECT count(*) AS n, sum(hash(t)::HUGEINT)::VARCHAR AS h FROM ${from} t`, QUERY_TIMEOUT_MS)).rows[0];
    const [din, dout] = [await digest(`read_parquet(${lit(glob)})`), await digest(`read_parquet([${cells.map(lit).join(', ')}])`)];
    const same = String(din?.n) === String(dout?.n) && din?.h === dout?.h;
    rows.push({
      metric: '  write result vs input',
      value: same ? 'match' : 'MISMATCH',
      unit: '',
      ok: same,
      note: `rows and sum(hash(row)): input ${din?.n}/${din?.h}, cells ${dout?.n}/${dout?.h}`.slice(0, 200),
    });
    await duck.sql(`CREATE OR REPLACE VIEW ${FRAME} AS SELECT * FROM read_parquet([${cells.map(lit).join(', ')}])`, 30_000);

    // --- Queries.
    for (const [qname, sql, compare] of [
      ['Q1', Q1, compareQ1],
      ['Q6', Q6, compareQ6],
    ]) {
      checkAbort();
      const ex = await d.api.sql(sql, { explain: true });
      const plan = parsePlan(ex.explain);
      ctx.log(`${qname} plan: ${plan.kind}, ${plan.groups ?? '?'} group(s)`);
      if (process.env.BENCH_EXPLAIN === '1') ctx.log(`${qname} explain:\n${ex.explain}`);
      const apiaryMs = [];
      const duckMs = [];
      const problems = [];
      let maxRel = 0;
      const phases = [];
      for (let i = 0; i < warmup + runs; i++) {
        checkAbort();
        const t0 = performance.now();
        const wall0 = Date.now();
        const a = await d.api.sql(sql);
        const ms = performance.now() - t0;
        if (PHASES && i >= warmup) phases.push(await phasesOf(d, a, wall0, Date.now()));
        const b = await duck.sql(sql, QUERY_TIMEOUT_MS);
        const cmp = compare(a.rows, b.rows);
        maxRel = Math.max(maxRel, cmp.maxRel);
        if (cmp.problem && problems.length < 3) problems.push(`run ${i + 1}: ${cmp.problem}`);
        if (i < warmup) continue;
        apiaryMs.push(ms);
        duckMs.push(b.wallMs);
        ctx.log(
          `${qname} run ${i - warmup + 1}/${runs}: apiary ${ms.toFixed(0)} ms, DuckDB ${b.wallMs.toFixed(0)} ms${cmp.problem ? `; MISMATCH ${cmp.problem}` : ''}`,
        );
      }
      const a = median(apiaryMs);
      const b = median(duckMs);
      const ratio = round(a / b, 2);
      const target = QUERY_TARGETS[qname];
      const spread = (xs) => `${ms0(Math.min(...xs))}–${ms0(Math.max(...xs))}`;
      rows.push({
        metric: `${qname} (median)`,
        value: round(a, 0),
        unit: 'ms',
        baseline: round(b, 0),
        ratio,
        note: `apiary ${spread(apiaryMs)} ms, DuckDB ${spread(duckMs)} ms; ${runs} runs +${warmup} warm-up; target <= ${target}x: ${ratio <= target ? 'met' : 'MISSED'}`,
      });
      for (const [phase, ms] of Object.entries(medianPhases(phases))) {
        rows.push({
          metric: `  ${qname} phase: ${phase} (median)`,
          value: ms,
          unit: 'ms',
          note: 'from the ledger: task created, attempt started, bee run time, finished (ms clocks)',
        });
      }
      rows.push({
        metric: `  ${qname} plan: ${plan.kind}`,
        value: plan.groups ?? '?',
        unit: 'groups',
        note: plan.note,
      });
      rows.push({
        metric: `  ${qname} result vs DuckDB`,
        value: problems.length === 0 ? 'match' : 'MISMATCH',
        unit: '',
        ok: problems.length === 0,
        note:
          problems.length === 0
            ? `${compare === compareQ1 ? 'same groups and counts; ' : ''}max relative diff ${maxRel.toExponential(1)} (tolerance ${REL_TOL})`
            : problems.join('; ').slice(0, 300),
      });
    }
  } finally {
    if (duck) duckGone = await duck.stop();
    if (d) teardown = await d.stop();
    await removeTempDir(copyDir);
    await removeTempDir(inputDir);
  }
  rows.push(teardownRow(teardown));
  if (!duckGone)
    rows.push({ metric: 'baseline DuckDB process gone', value: 'FAIL', unit: '', ok: false, note: 'it outlived stdin close + SIGTERM; SIGKILLed' });
  return rows;
}

// ---------------------------------------------------------------------------------------------

/** What a frame query costs beyond the work: count(*) over one row, apiary over HTTP vs the DuckDB process. */
async function fixedCost(ctx, d, duck, dir, warmup) {
  const runs = intEnv('BENCH_FIXED_RUNS', 21, 1);
  const src = path.join(dir, 'one-row.parquet');
  await duck.sql(`COPY (SELECT 1 AS x) TO ${lit(src)} (FORMAT parquet)`, 30_000);
  await d.api.writeFrame(TINY, { path: src });
  await rm(src, { force: true });
  const frame = await d.api.frame(TINY);
  const cells = frame.cellList.map((c) => path.join(frame.dataRoot, c.path));
  await duck.sql(`CREATE OR REPLACE VIEW ${TINY} AS SELECT * FROM read_parquet([${cells.map(lit).join(', ')}])`, 30_000);
  const sql = `SELECT count(*) AS n FROM ${TINY}`;
  const apiaryMs = [];
  const duckMs = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const a = await d.api.sql(sql);
    const ms = performance.now() - t0;
    const b = await duck.sql(sql, QUERY_TIMEOUT_MS);
    if (Number(a.rows?.[0]?.n) !== 1 || Number(b.rows?.[0]?.n) !== 1)
      throw new Error(`${sql}: apiary ${JSON.stringify(a.rows)}, DuckDB ${JSON.stringify(b.rows)}`);
    if (i < warmup) continue;
    apiaryMs.push(ms);
    duckMs.push(b.wallMs);
  }
  await d.api.dropFrame(TINY);
  const a = median(apiaryMs);
  const b = median(duckMs);
  const fixed = round(a - b, 1);
  ctx.log(`fixed cost: apiary ${a.toFixed(1)} ms, DuckDB ${b.toFixed(1)} ms`);
  return [
    {
      metric: 'fixed cost: count(*) over 1 row (median)',
      value: fixed,
      unit: 'ms',
      note: `apiary ${a.toFixed(1)} ms (${ms0(Math.min(...apiaryMs))}–${ms0(Math.max(...apiaryMs))}) − DuckDB ${b.toFixed(1)} ms; ${runs} runs +${warmup} warm-up; target <= ${FIXED_TARGET_MS} ms: ${fixed <= FIXED_TARGET_MS ? 'met' : 'MISSED'}`,
    },
  ];
}

/** The baseline: scripts/bench/duckdb-sql.mjs, one statement at a time over stdin/stdout. */
async function startDuck(threads) {
  const child = spawnTracked(NODE, [DUCKDB_SQL, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = tailLines(child.stderr, 20);
  child.stdin.on('error', () => undefined);
  child.stdout.setEncoding('utf8');
  const waiting = []; // FIFO of { resolve, reject }: answers come in order
  let buf = '';
  let failed = null;
  const failAll = (err) => {
    failed = err;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        failAll(new Error(`duckdb-sql: unexpected stdout line: ${line.slice(0, 200)}`));
        return;
      }
      waiting.shift()?.resolve(msg);
    }
  });
  void child.exited.then((r) => failAll(new Error(`duckdb-sql exited (${r.signal ?? `code ${r.code}`})${stderr().length ? `: ${stderr().join('\n')}` : ''}`)));
  const next = (timeoutMs, label) =>
    withTimeout(
      new Promise((resolve, reject) => {
        if (failed) reject(failed);
        else waiting.push({ resolve, reject });
      }),
      timeoutMs,
      label,
    );
  const stop = async () => {
    child.stdin.end();
    let left = await waitForGone([child.pid], DUCK_EXIT_MS);
    if (left.length > 0 && isAlive(child.pid)) {
      child.kill('SIGTERM');
      left = await waitForGone([child.pid], 2000);
    }
    if (left.length > 0) await killTree(child.pid);
    await withTimeout(child.exited, 3000, 'duckdb-sql exit').catch(() => undefined);
    return left.length === 0;
  };
  try {
    const ready = await next(DUCK_READY_MS, 'duckdb-sql ready');
    if (ready.type !== 'ready') throw new Error(`duckdb-sql: unexpected first line ${JSON.stringify(ready).slice(0, 200)}`);
    let seq = 0;
    return {
      pid: child.pid,
      threads: ready.threads,
      version: ready.version,
      stop,
      /** Run one statement: { rows, columns, ms (in the process), wallMs (round trip) }; throws on a SQL error. */
      async sql(sql, timeoutMs) {
        const id = ++seq;
        const t0 = performance.now();
        const answer = next(timeoutMs, `duckdb-sql statement ${id}`);
        child.stdin.write(JSON.stringify({ id, sql }) + '\n');
        let r;
        try {
          r = await answer;
        } catch (e) {
          // A statement that timed out leaves the process busy and out of step: take it down.
          await killTree(child.pid);
          throw e;
        }
        const wallMs = performance.now() - t0;
        if (r.id !== id) throw new Error(`duckdb-sql: answer ${r.id} for statement ${id}`);
        if (r.error) throw new Error(`duckdb-sql: ${r.error}\n  in: ${sql.slice(0, 200)}`);
        return { ...r, wallMs };
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * One query's phases in ms: request to its first task, plan, map dispatch (created -> started on a
 * bee), map run (on the bee), map return (bee done -> queen has it), maps done -> merge created
 * (partial checksums), the merge from created to finished (and its run on the bee), last task -> response.
 */
async function phasesOf(d, res, t0, t1) {
  const views = await Promise.all(res.tasks.map((id) => d.api.get(id)));
  const plan = views.find((v) => v.kind === 'plan');
  const fsql = views.filter((v) => v.kind === 'fsql');
  const merge = fsql.length > 1 ? fsql.at(-1) : null;
  const maps = merge ? fsql.slice(0, -1) : fsql;
  const last = (v) => v.attempts.at(-1);
  const max = (xs) => Math.max(...xs);
  const mapsDone = max(maps.map((v) => v.finishedAt));
  return {
    'request -> first task': Math.min(...views.map((v) => v.createdAt)) - t0,
    plan: plan ? plan.finishedAt - plan.createdAt : 0,
    'map dispatch (slowest)': max(maps.map((v) => last(v).startedAt - v.createdAt)),
    'map run (slowest bee)': max(maps.map((v) => last(v).durationMs)),
    'map run (fastest bee)': Math.min(...maps.map((v) => last(v).durationMs)),
    'map return (slowest)': max(maps.map((v) => v.finishedAt - last(v).startedAt - last(v).durationMs)),
    'maps done -> merge created': merge ? merge.createdAt - mapsDone : 0,
    'merge created -> finished': merge ? merge.finishedAt - merge.createdAt : 0,
    'merge run on its bee': merge ? last(merge).durationMs : 0,
    'last task -> response': t1 - (merge ? merge.finishedAt : mapsDone),
  };
}

/**
 * Where a write's time went, from the ledger: request -> write tasks created (inputs listed and, for
 * several files, their schemas probed), tasks waiting for a bee, the slowest and fastest bee's run
 * (read, cut and COPY the cells, their stats and sha256), and last task done -> response (the
 * queen moves the cells and commits the version).
 */
async function writePhases(d, t0, t1) {
  const { tasks } = await d.api.list(undefined, 50);
  const w = tasks.filter((t) => t.kind === 'write' && t.createdAt >= t0 && t.state === 'succeeded');
  if (w.length === 0) return {};
  const last = (t) => t.attempts.at(-1);
  const runs = w.map((t) => last(t).durationMs);
  return {
    'request -> write tasks': Math.min(...w.map((t) => t.createdAt)) - t0,
    'tasks: created -> started (slowest)': Math.max(...w.map((t) => last(t).startedAt - t.createdAt)),
    [`bee run, slowest of ${w.length} task(s)`]: Math.max(...runs),
    'bee run, fastest': Math.min(...runs),
    'last task -> response (commit)': t1 - Math.max(...w.map((t) => t.finishedAt)),
  };
}

function medianPhases(list) {
  if (list.length === 0) return {};
  return Object.fromEntries(Object.keys(list[0]).map((k) => [k, round(median(list.map((p) => p[k])), 1)]));
}

function lastJsonLine(text) {
  const lines = text.trim().split('\n').filter(Boolean);
  try {
    return JSON.parse(lines.at(-1) ?? '');
  } catch {
    return null;
  }
}

/** Kind and number of groups from the explain text (see shared/planner/src/explain.ts). */
function parsePlan(text) {
  const s = String(text ?? '');
  const first = s.split('\n')[0] ?? '';
  const kind = /^plan:\s*(\w+)/.exec(first)?.[1] ?? 'unknown';
  const g = /^groups:\s*(\d+)/m.exec(s);
  const frameLine = /^frame \S+: (.*)$/m.exec(s)?.[1];
  if (kind === 'whole') {
    const reason = first.split(' — ').slice(1).join(' — ');
    return { kind, groups: 1, note: `one bee runs it${reason ? `: ${reason}` : ''}${frameLine ? `; ${frameLine}` : ''}`.slice(0, 200) };
  }
  return { kind, groups: g ? Number(g[1]) : null, note: `${frameLine ?? first}`.slice(0, 200) };
}

const relDiff = (a, b) => {
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
  if (x === y) return 0;
  return Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
};

function compareQ6(a, b) {
  if (a?.length !== 1 || b?.length !== 1) return { maxRel: Infinity, problem: `rows: apiary ${a?.length}, DuckDB ${b?.length}` };
  const rel = relDiff(a[0].revenue, b[0].revenue);
  return { maxRel: rel, problem: rel <= REL_TOL ? null : `revenue ${a[0].revenue} vs ${b[0].revenue} (relative ${rel.toExponential(2)})` };
}

function compareQ1(a, b) {
  const key = (r) => `${r.l_returnflag}|${r.l_linestatus}`;
  const ka = (a ?? []).map(key);
  const kb = (b ?? []).map(key);
  if (ka.join(',') !== kb.join(',')) return { maxRel: Infinity, problem: `groups ${ka.join(',')} vs ${kb.join(',')}` };
  let maxRel = 0;
  for (const [i, ra] of a.entries()) {
    const rb = b[i];
    if (Number(ra.count_order) !== Number(rb.count_order)) return { maxRel: Infinity, problem: `${key(ra)} count ${ra.count_order} vs ${rb.count_order}` };
    for (const c of Q1_NUMBERS) {
      const rel = relDiff(ra[c], rb[c]);
      maxRel = Math.max(maxRel, rel);
      if (rel > REL_TOL) return { maxRel, problem: `${key(ra)} ${c} ${ra[c]} vs ${rb[c]} (relative ${rel.toExponential(2)})` };
    }
  }
  return { maxRel, problem: null };
}

function lit(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

function mib(bytes) {
  return round(bytes / 2 ** 20, 1);
}

function ms0(x) {
  return Math.round(x);
}
