import type { ChildProcess } from 'node:child_process';
import type { WireError } from '@apiary/protocol';
import { AbortGrace } from './abort-grace.js';
import type { Job, Outcome } from './chamber-job.js';

/**
 * One task on a chamber's bee, from its `run` message to its outcome: its timeout timer and, once
 * its ctx.signal was fired (cancel, timeout), the abort grace. It settles exactly once.
 */
export class ChamberTask {
  readonly startedAt = Date.now();
  /** Its ctx.signal was fired (JS tasks): how it ends whatever the bee reports next. */
  abort: AbortGrace | null = null;
  #timer: NodeJS.Timeout | null;
  #settled = false;

  constructor(
    readonly job: Job,
    timeoutMs: number,
    onTimeout: () => void,
    private readonly onSettle: (t: ChamberTask, o: Outcome) => void,
  ) {
    // One timer, cleared when the task settles (no AbortController per task: it only served that).
    this.#timer = setTimeout(onTimeout, timeoutMs);
  }

  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Fire the task's ctx.signal in its bee, then `kill` after ABORT_GRACE_MS unless the task settles
   * first (at once when the bee's channel is gone). Asked once: a cancel during a timeout's grace changes nothing.
   */
  beginAbort(reason: WireError, child: ChildProcess, kill: () => void): void {
    if (this.abort) return;
    this.abort = new AbortGrace(reason);
    const code = reason.code as 'TASK_CANCELLED' | 'TASK_TIMEOUT';
    this.abort.begin(
      () => {
        try {
          return child.send({ type: 'abort', taskId: this.job.taskId, code, message: reason.message });
        } catch {
          return false;
        }
      },
      () => {
        if (!this.#settled) kill();
      },
    );
  }

  /** The task's outcome is known: stop its clocks and hand the outcome on (once). */
  settle(o: Outcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.abort?.end();
    this.onSettle(this, o);
  }
}
