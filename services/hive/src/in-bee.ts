import type { BeeToHive, WireError } from '@apiary/protocol';
import type { ChamberTask } from './chamber-task.js';
import type { OutputRoute } from './output-capture.js';

/**
 * The tasks a chamber has given its bee, in order: the first runs, the rest wait in the bee (the
 * pipeline). Tasks added in one turn go to the bee together at the end of it (`send`, one message).
 */
export class InBee {
  readonly #tasks: ChamberTask[] = [];
  #toSend: ChamberTask[] = [];

  constructor(private readonly send: (tasks: ChamberTask[]) => void) {}

  get head(): ChamberTask | undefined {
    return this.#tasks[0];
  }

  get length(): number {
    return this.#tasks.length;
  }

  all(): readonly ChamberTask[] {
    return this.#tasks;
  }

  find(taskId: string): ChamberTask | undefined {
    for (const t of this.#tasks) if (t.job.taskId === taskId) return t;
    return undefined;
  }

  /**
   * A task's message from the bee: its output (to its own capture), or its end. Returns the error
   * to kill the bee with (DuckDB's own out-of-memory), if any.
   */
  deliver(msg: Exclude<BeeToHive, { type: 'ready' }>, output: OutputRoute): WireError | null {
    const t = this.find(msg.taskId);
    if (!t) return null; // a task that ended already (an abort's answer after its kill, say)
    if (msg.type === 'output') {
      output.captureFor(t.job)?.appendText(msg.stream, msg.data, msg.cut);
      return null;
    }
    // The task settled after its signal fired (or was dropped while it waited): its bee lives on.
    if (t.abort) t.settle({ ok: false, error: t.abort.reason });
    else if (msg.type === 'result') t.settle({ ok: true, value: msg.value });
    else {
      t.settle({ ok: false, error: msg.error });
      if (msg.error.code === 'BEE_MEMORY_EXCEEDED') return msg.error;
    }
    return null;
  }

  /** Add a task; it goes to the bee with the rest of this turn's. */
  push(t: ChamberTask): void {
    this.#tasks.push(t);
    this.#toSend.push(t);
    if (this.#toSend.length === 1) queueMicrotask(() => this.#flush());
  }

  /** Take `t` out; returns its index (0: it was the running one), or -1. */
  remove(t: ChamberTask): number {
    const i = this.#tasks.indexOf(t);
    if (i >= 0) this.#tasks.splice(i, 1);
    return i;
  }

  /** Whether `t` is still to be sent (then it never reaches the bee if taken out now). */
  unsent(t: ChamberTask): boolean {
    return this.#toSend.includes(t);
  }

  /** Every task, emptied (the bee is gone). */
  takeAll(): ChamberTask[] {
    this.#toSend = [];
    return this.#tasks.splice(0);
  }

  #flush(): void {
    const ts = this.#toSend.filter((t) => !t.settled);
    this.#toSend = [];
    if (ts.length > 0) this.send(ts);
  }
}
