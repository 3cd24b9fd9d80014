import type { ChildProcess } from 'node:child_process';
import type { WireError } from '@apiary/protocol';
import { AbortGrace } from './abort-grace.js';
import type { Job, Outcome } from './chamber-job.js';

/**
 * One task on a chamber's bee, from its `run` message to its outcome. It may wait in the bee behind
 * the tasks sent before it (the pipeline): its clock (timeout timer, startedAt) starts when it
 * becomes the head, i.e. when the bee's previous result arrived, as the bee starts it right after
 * sending that result. Once its ctx.signal was fired (cancel, timeout) it has the abort grace, from
 * its start. It settles exactly once: with an outcome, or null when it never ran (handed back).
 */
export class ChamberTask {
  /** When it became the bee's running task; 0 while it waits in the bee. */
  startedAt = 0;
  /** Its ctx.signal was fired (JS tasks): how it ends whatever the bee reports next. */
  abort: AbortGrace | null = null;
  #timer: NodeJS.Timeout | null = null;
  #kill: (() => void) | null = null;
  #settled = false;

  constructor(
    readonly job: Job,
    readonly timeoutMs: number,
    private readonly onSettle: (t: ChamberTask, o: Outcome | null) => void,
  ) {}

  get settled(): boolean {
    return this.#settled;
  }

  get started(): boolean {
    return this.startedAt > 0;
  }

  /** It runs now (the bee's head): its timeout counts from here; an abort asked while it waited gets its grace from here. */
  start(onTimeout: () => void): void {
    this.startedAt = Date.now();
    // One timer, cleared when the task settles (no AbortController per task: it only served that).
    this.#timer = setTimeout(onTimeout, this.timeoutMs);
    const kill = this.#kill;
    if (this.abort && kill)
      this.abort.begin(
        () => true,
        () => !this.#settled && kill(),
      );
  }

  /**
   * Fire the task's ctx.signal in its bee (or drop it there, if it waits), then `kill` after
   * ABORT_GRACE_MS from its start unless it settles first (at once when the bee's channel is gone).
   * Asked once: a cancel during a timeout's grace changes nothing.
   */
  beginAbort(reason: WireError, child: ChildProcess, kill: () => void): void {
    if (this.abort) return;
    this.abort = new AbortGrace(reason);
    const code = reason.code as 'TASK_CANCELLED' | 'TASK_TIMEOUT';
    const send = () => {
      try {
        return child.send({ type: 'abort', taskId: this.job.taskId, code, message: reason.message });
      } catch {
        return false;
      }
    };
    if (this.started) {
      this.abort.begin(send, () => {
        if (!this.#settled) kill();
      });
      return;
    }
    // Waiting in the bee: it drops the task and answers; the grace starts only if it starts after all.
    this.#kill = kill;
    if (!send()) kill();
  }

  /** The task's outcome is known (null: it never ran and goes back to the pool): stop its clocks, hand it on (once). */
  settle(o: Outcome | null): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.abort?.end();
    this.onSettle(this, o);
  }
}

/** How long a dead bee's IPC channel may take to deliver what is left in it before its exit is judged without it. */
const CHANNEL_DRAIN_MS = 1000;

/**
 * Run `judge` once the bee's IPC channel has closed (every message it sent read), or after
 * CHANNEL_DRAIN_MS at the most: a result sent just before the bee died must settle its task, not the
 * kill, and the task behind it (which ran and may have caused the kill) must not pass for one that never ran.
 */
export function afterChannelCloses(child: ChildProcess, judge: () => void): void {
  if (!child.connected) {
    judge();
    return;
  }
  let judged = false;
  const once = () => {
    if (judged) return;
    judged = true;
    clearTimeout(timer);
    judge();
  };
  const timer = setTimeout(once, CHANNEL_DRAIN_MS);
  child.once('disconnect', once);
}
