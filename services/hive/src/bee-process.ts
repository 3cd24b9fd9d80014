import { fork, type ChildProcess } from 'node:child_process';
import { checkBeeToHive, type BeeToHive } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import { beeFork } from './bee-fork.js';
import { adoptEarlyBee } from './early-bee.js';
import { afterChannelCloses } from './chamber-task.js';
import type { OutputCapture } from './output-capture.js';

/** What V8 prints on stderr before it aborts a process that reached its heap cap (--max-old-space-size). */
const V8_HEAP_OOM = /Reached heap limit|JavaScript heap out of memory/;
/** How long an aborted bee's stderr may take to drain before its exit is judged without it. */
const STDERR_DRAIN_MS = 1000;

/** Fork one bee of a chamber (bee-fork.ts says how), or adopt the same bee a one-shot keeper forked early. */
export function forkBee(id: number, budgetBytes: number, scratchDir: string): { child: ChildProcess; heapMb: number } {
  const f = beeFork(id, budgetBytes, scratchDir);
  const child = adoptEarlyBee(f) ?? fork(f.modulePath, [], f.options);
  return { child, heapMb: f.heapMb };
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

/**
 * `end` runs once what the bee sent is read: its IPC channel closed (results still in it are
 * delivered first) and, after an abort nobody asked for (`killed` false), its stderr drained too:
 * heapCapped says V8 reported its heap cap there (the budget speaking, not a crash).
 */
export function whenBeeEnds(
  child: ChildProcess,
  oom: HeapOomWatch,
  killed: () => boolean,
  end: (code: number | null, signal: NodeJS.Signals | null, heapCapped: boolean) => void,
): void {
  child.once('exit', (code, signal) => {
    afterChannelCloses(child, () => {
      if (signal !== 'SIGABRT' || killed()) return end(code, signal, false);
      afterStderrDrains(child, () => end(code, signal, oom.seen));
    });
  });
}

/** The bee's messages, each checked by shape (checkBeeToHive); a malformed one is logged and dropped. */
export function onBeeMessage(child: ChildProcess, id: number, log: Logger, on: (msg: BeeToHive) => void): void {
  child.on('message', (raw: unknown) => {
    let msg: BeeToHive;
    try {
      msg = checkBeeToHive(raw);
    } catch (e) {
      log.warn(`bee ${id}: ${(e as Error).message}`);
      return;
    }
    on(msg);
  });
}
