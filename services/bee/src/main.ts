import { ApiaryError, checkHiveToBee, MAX_RESULT_BYTES, toWireError, type BeeRun, type BeeToHive, type HiveToBee, type TaskValue } from '@apiary/protocol';
import { collectWhenIdle } from '@apiary/runtime/idle-gc';
import { Duck } from './duck.js';
import { readBeeEnv } from './env.js';
import { runJs } from './js-task.js';
import { runWrite } from './write-task.js';
import { runFrameSql } from './frame-sql.js';
import { runPlan } from './plan-task.js';
import { checkResultBytes, checkResultSize, JS_ENVELOPE_BYTES } from './result-cap.js';
import { drainStdio, stdioPending } from './stdio-drain.js';
import { tapOutput } from './output-tap.js';
import { Scratch } from './scratch.js';
import { dieWithGroup, startOrphanWatchdog } from './watchdog.js';

/*
 * The bee process: forked by its hive with an IPC channel. Runs one task at a time, in the order the
 * hive sent them: the hive may queue several in it (the pipeline, `runs`), and each result is sent
 * before the next task starts, so no result waits behind a task that blocks. It never handles
 * SIGTERM/SIGINT itself: the hive owns its lifecycle and kills its process group.
 */

if (!process.send) {
  process.stderr.write('apiary bee: must be forked by a hive (no IPC channel)\n');
  process.exit(2);
}

const send = (m: BeeToHive) => process.send!(m);
process.on('disconnect', dieWithGroup);
const env = readBeeEnv();
startOrphanWatchdog(env.hivePid);
// The hive may already be gone (it died while we loaded DuckDB's library): then go now.
if (process.ppid !== env.hivePid || !process.connected) dieWithGroup();

// DuckDB is opened at the first task that needs it: a bee that only runs js never loads it.
let duck: Duck | null = null;
let duckOpen: Promise<Duck> | null = null;
const openDuck = () =>
  (duckOpen ??= Duck.open({ memoryLimitBytes: env.duckMemoryBytes, tempDir: env.scratchDir }).then(
    (d) => (duck = d),
    (e: unknown) => {
      duckOpen = null; // a failed load is tried again by the next task that needs it
      throw e;
    },
  ));
let current: { taskId: string; ac: AbortController } | null = null;
/** Tasks the hive sent that have not started yet, in order. */
const queue: Omit<BeeRun, 'type'>[] = [];
const scratch = new Scratch(env.scratchDir);
// What task code prints goes to the hive over IPC, tagged with its task (see output-tap.ts).
const endOutput = tapOutput(() => current?.taskId ?? null, send);

process.on('message', (raw: unknown) => {
  let msg: HiveToBee;
  try {
    msg = checkHiveToBee(raw);
  } catch (e) {
    process.stderr.write(`apiary bee ${env.id}: ${(e as Error).message}\n`);
    return;
  }
  if (msg.type === 'abort') {
    // ctx.signal fires with an ApiaryError: a task that rejects with signal.reason ends with its code.
    if (current?.taskId === msg.taskId) current.ac.abort(new ApiaryError(msg.code, msg.message));
    else dropQueued(msg.taskId, new ApiaryError(msg.code, msg.message));
    return;
  }
  if (msg.type === 'runs') queue.push(...msg.tasks);
  else queue.push(msg);
  if (!current) next();
});

/** A task still queued here was cancelled (or timed out waiting): it never starts; its error says why. */
function dropQueued(taskId: string, why: ApiaryError): void {
  const i = queue.findIndex((q) => q.taskId === taskId);
  if (i < 0) return; // done already: the hive ignores a late abort
  queue.splice(i, 1);
  send({ type: 'error', taskId, error: toWireError(why, 'TASK_CANCELLED') });
}

/** Start the next queued task, if any (one at a time). */
function next(): void {
  const msg = queue.shift();
  if (msg) void run(msg);
}

/** A SQL task may have left state in the bee's database: checked before the next task, not on this one's clock. */
let mayBeDirty = false;

async function run(msg: Omit<BeeRun, 'type'>): Promise<void> {
  const ac = new AbortController();
  const me = { taskId: msg.taskId, ac };
  current = me;
  scratch.started();
  let out: BeeToHive;
  try {
    if (mayBeDirty) {
      mayBeDirty = false;
      await (await openDuck()).resetIfDirty();
    }
    let value: TaskValue;
    if (msg.spec.kind === 'sql') {
      mayBeDirty = true; // also when it fails: a failed script may have created tables first
      const db = await openDuck();
      value = msg.spec.stream ? await db.stream(msg.spec.sql, msg.spec.stream, ac.signal) : await db.query(msg.spec.sql, ac.signal);
    } else if (msg.spec.kind === 'plan') {
      value = await runPlan(await openDuck(), msg.spec, ac.signal);
    } else if (msg.spec.kind === 'fsql') {
      value = await runFrameSql(msg.spec, { memoryLimitBytes: env.duckMemoryBytes, tempDir: msg.scratchDir }, ac.signal);
    } else if (msg.spec.kind === 'write') {
      value = await runWrite(await openDuck(), msg.spec, { signal: ac.signal, scratchDir: msg.scratchDir });
    } else {
      const out = await runJs(msg.spec, { signal: ac.signal, scratchDir: msg.scratchDir, taskId: msg.taskId });
      value = { kind: 'js', value: toJsonValue(out) };
    }
    // A js value was measured as toJsonValue stringified it: not stringified again here.
    if (value.kind !== 'js') checkResultSize(value);
    out = { type: 'result', taskId: msg.taskId, value };
  } catch (e) {
    out = { type: 'error', taskId: msg.taskId, error: toWireError(e, 'TASK_FAILED') };
  }
  // Before the result: the next task must find scratch empty, and the hive reads the pipes' output first.
  // Awaited only when there is something to wait for: a tiny task pays two checks, no promise.
  if (scratch.touched()) await scratch.reset();
  if (stdioPending()) await drainStdio();
  endOutput(msg.taskId);
  send(out);
  if (current === me) current = null;
  next();
}

/**
 * Results travel on as JSON: check now, in the bee, so the error names the task; and check their
 * size (checkResultBytes) on the same stringify.
 */
function toJsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  // Already what JSON gives back (the common tiny result): no stringify and parse per task.
  if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  // A string's JSON is at most 6 bytes per UTF-16 unit (\uXXXX) plus its quotes: measured only when that could pass the cap.
  if (typeof v === 'string') {
    if (v.length * 6 + 2 + JS_ENVELOPE_BYTES > MAX_RESULT_BYTES) checkResultBytes(Buffer.byteLength(JSON.stringify(v)) + JS_ENVELOPE_BYTES);
    return v;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    // A function or symbol alone has no JSON form (stringify gives undefined): parsing that throws, as ever.
    if (text === undefined) JSON.parse(text as unknown as string);
  } catch (e) {
    throw new ApiaryError('TASK_RESULT_INVALID', `task result is not JSON-serialisable: ${(e as Error).message}`);
  }
  checkResultBytes(Buffer.byteLength(text!) + JS_ENVELOPE_BYTES);
  return JSON.parse(text!);
}

process.on('exit', () => {
  current?.ac.abort();
  duck?.close();
});

// After a burst of tasks a bee sat on ~16 MiB of garbage for good (V8 does not collect an idle
// process): give it back once the bee goes quiet. Imported by subpath so the bundle stays small.
// A bee's heap is small (~8 MiB idle) and its young generation capped, so 100,000 tasks grow it
// by only ~5 MiB: under the default 8 MiB threshold it was never collected (+5 MiB PSS per bee).
collectWhenIdle({ growthBytes: 2 * 1024 * 1024 });

// `duckdb`: the version once loaded; not loaded yet at start (see openDuck).
send({ type: 'ready', pid: process.pid, duckdb: 'not loaded' });
// Asked to (a one-shot SQL run): load it now, while the query is still on its way; a failure is
// left for the task that needs it to retry and report.
if (env.warmDuckdb) openDuck().catch(() => undefined);
