import { fork, type ChildProcess } from 'node:child_process';
import { BEE_MAIN } from '@apiary/bee/entry';
import { BEE_ENV, BEE_IPC_SERIALIZATION } from '@apiary/protocol';
import { withMallocEnv, type Logger } from '@apiary/runtime';
import { splitBudget } from './budget.js';
import type { OutputCapture } from './output-capture.js';

/** What V8 prints on stderr before it aborts a process that reached its heap cap (--max-old-space-size). */
const V8_HEAP_OOM = /Reached heap limit|JavaScript heap out of memory/;
/** How long an aborted bee's stderr may take to drain before its exit is judged without it. */
const STDERR_DRAIN_MS = 1000;
/** V8 semi-space cap of a bee, MiB (see the fork below). */
const BEE_SEMI_SPACE_MB = 2;

/** The hive's env minus its secrets: task code runs in the bee and must not read tokens. */
function beeEnvBase(): NodeJS.ProcessEnv {
  const { APIARY_JOIN_TOKEN: _j, APIARY_CLIENT_TOKEN: _c, APIARY_TOKEN: _t, ...rest } = process.env;
  // glibc malloc defaults (runtime malloc-env.ts): fewer arenas kept after a burst of tasks.
  return withMallocEnv(rest);
}

/** Fork one bee of a chamber: its budget split between V8's heap and DuckDB, told through BEE_ENV. */
export function forkBee(id: number, budgetBytes: number, scratchDir: string): { child: ChildProcess; heapMb: number } {
  const { heapMb, duckBytes } = splitBudget(budgetBytes);
  const child = fork(BEE_MAIN, [], {
    // Own process group: a group kill reaches anything the task spawned; terminal Ctrl-C does not.
    detached: true,
    serialization: BEE_IPC_SERIALIZATION,
    // A small young generation: V8 grows it to 3 x 16 MiB under a stream of tiny tasks and keeps it
    // when idle (+48 MiB PSS per bee after 100,000 tasks, bench footprint); scavenges stay cheap.
    execArgv: [`--max-old-space-size=${heapMb}`, `--max-semi-space-size=${BEE_SEMI_SPACE_MB}`],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...beeEnvBase(),
      [BEE_ENV.id]: String(id),
      [BEE_ENV.budget]: String(budgetBytes),
      [BEE_ENV.duck]: String(duckBytes),
      [BEE_ENV.scratch]: scratchDir,
      [BEE_ENV.hive]: String(process.pid),
    },
  });
  return { child, heapMb };
}

/** Whether a bee printed V8's heap-limit message on stderr (the message may be split across chunks). */
export class HeapOomWatch {
  #tail = '';
  seen = false;

  feed(d: Buffer): void {
    const text = this.#tail + d.toString();
    if (V8_HEAP_OOM.test(text)) this.seen = true;
    this.#tail = text.slice(-64);
  }
}

/**
 * Route a bee's stdout/stderr: to the running task's capture when there is one, else to the hive's
 * log (a task's console output must not reach the hive's stdout, a handshake channel). Returns the
 * watch for V8's heap-limit message on stderr (judged at the bee's exit).
 */
export function routeBeeOutput(child: ChildProcess, id: number, log: Logger, capture: () => OutputCapture | null): HeapOomWatch {
  const relay = (d: Buffer) => log.relay(`bee-${id}`, d.toString());
  const oom = new HeapOomWatch();
  child.stdout?.on('data', (d: Buffer) => {
    const c = capture();
    if (c) c.append('stdout', d);
    else relay(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    oom.feed(d);
    const c = capture();
    if (c) c.append('stderr', d);
    else relay(d);
  });
  return oom;
}

/**
 * An abort (SIGABRT) may be V8 at its heap cap: the budget speaking, not a crash. Its message can
 * still be in the pipe when the exit event comes, so `judge` runs once stderr has closed, or after
 * STDERR_DRAIN_MS at the most; exactly once.
 */
export function afterStderrDrains(child: ChildProcess, judge: () => void): void {
  let judged = false;
  const once = () => {
    if (judged) return;
    judged = true;
    judge();
  };
  const err = child.stderr;
  if (!err || err.closed) {
    once();
    return;
  }
  const timer = setTimeout(once, STDERR_DRAIN_MS);
  err.once('close', () => {
    clearTimeout(timer);
    once();
  });
}
