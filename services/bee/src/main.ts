import { ApiaryError, type BeeRun, HiveToBee, toWireError, validate, type BeeToHive, type TaskValue } from '@apiary/protocol';
import { collectWhenIdle } from '@apiary/runtime/idle-gc';
import { Duck } from './duck.js';
import { readBeeEnv } from './env.js';
import { runJs } from './js-task.js';
import { runWrite } from './write-task.js';
import { runFrameSql } from './frame-sql.js';
import { runPlan } from './plan-task.js';
import { checkResultSize } from './result-cap.js';
import { drainStdio } from './stdio-drain.js';
import { dieWithGroup, startOrphanWatchdog } from './watchdog.js';

/*
 * The bee process: forked by its hive with an IPC channel. Runs one task at a time. It never
 * handles SIGTERM/SIGINT itself: the hive owns its lifecycle and kills its process group.
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

process.on('message', (raw: unknown) => {
  let msg: HiveToBee;
  try {
    msg = validate(HiveToBee, raw, 'hive→bee message');
  } catch (e) {
    process.stderr.write(`apiary bee ${env.id}: ${(e as Error).message}\n`);
    return;
  }
  if (msg.type === 'abort') {
    // ctx.signal fires with an ApiaryError: a task that rejects with signal.reason ends with its code.
    if (current?.taskId === msg.taskId) current.ac.abort(new ApiaryError(msg.code, msg.message));
    return;
  }
  void run(msg);
});

/** A SQL task may have left state in the bee's database: checked before the next task, not on this one's clock. */
let mayBeDirty = false;

async function run(msg: BeeRun): Promise<void> {
  const ac = new AbortController();
  const me = { taskId: msg.taskId, ac };
  current = me;
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
    checkResultSize(value);
    await drainStdio();
    send({ type: 'result', taskId: msg.taskId, value });
  } catch (e) {
    await drainStdio();
    send({ type: 'error', taskId: msg.taskId, error: toWireError(e, 'TASK_FAILED') });
  } finally {
    if (current === me) current = null;
  }
}

/** Results travel on as JSON: check now, in the bee, so the error names the task. */
function toJsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
  } catch (e) {
    throw new ApiaryError('TASK_RESULT_INVALID', `task result is not JSON-serialisable: ${(e as Error).message}`);
  }
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
