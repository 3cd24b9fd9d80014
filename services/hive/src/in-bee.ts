import type { ChildProcess } from 'node:child_process';
import type { BeeToHive, HiveToBee, WireError } from '@apiary/protocol';
import type { Job, Outcome } from './chamber-job.js';
import { ChamberTask } from './chamber-task.js';
import type { OutputRoute } from './output-capture.js';

/** How a job ended on its bee: its outcome and run time from its start; null: it never ran (its bee died first), hand it back. */
export type Settled = { outcome: Outcome; ms: number } | null;

/** What the tasks in a bee need from their chamber. */
export interface InBeeHooks {
  /** This turn's new tasks, as one message to the bee. */
  send(tasks: ChamberTask[]): void;
  /** Whether the next task may start now: the bee is alive and not being killed. */
  canBegin(): boolean;
  /** `t` is the bee's running task now (its clock started). */
  began(t: ChamberTask): void;
  /** A settled task is handed on: its output route closes. */
  ended(t: ChamberTask): void;
  /** This turn's settled tasks are about to be handed on (the bee may go idle). */
  handingOn(): void;
}

/**
 * The tasks a chamber has given its bee, in order: the first runs, the rest wait in the bee (the
 * pipeline). Tasks added in one turn go to the bee together at the end of it (`send`, one message).
 * Each task's life here: run (queued), begin (it became the head), settle (its outcome is known; the
 * next one begins at once), finish (handed on a turn later, with every other one of that turn).
 */
export class InBee {
  readonly #tasks: ChamberTask[] = [];
  #toSend: ChamberTask[] = [];
  /** Settled tasks whose end runs on the next turn (one setImmediate for all of them). */
  #finishing: (() => void)[] = [];
  /** Tasks that started on a bee of this chamber and ended. */
  ran = 0;

  constructor(private readonly hooks: InBeeHooks) {}

  /** Queue `job` in the bee (it begins at once when it is the only one); resolves once it has ended. */
  run(job: Job, timeoutMs: number): Promise<Settled> {
    return new Promise<Settled>((resolve) => {
      const t = new ChamberTask(job, timeoutMs, (t, o) => this.#settled(t, o, resolve));
      this.push(t);
      if (this.#tasks.length === 1) this.#begin(t);
    });
  }

  #begin(t: ChamberTask): void {
    this.hooks.began(t);
  }

  /**
   * A task's outcome is known. The next task in the bee is running already: its clock starts now.
   * The outcome is handed on a turn later, with every other one of this turn: what the task's
   * children printed just before may still be in the pipes (another fd than the IPC channel).
   */
  #settled(t: ChamberTask, o: Outcome | null, resolve: (s: Settled) => void): void {
    const i = this.remove(t);
    if (t.started) this.ran++;
    const head = this.head;
    if (i === 0 && head && !head.started && this.hooks.canBegin()) this.#begin(head);
    const settled: Settled = o === null ? null : { outcome: o, ms: t.started ? Date.now() - t.startedAt : 0 };
    this.#finishing.push(() => {
      this.hooks.ended(t);
      resolve(settled);
    });
    if (this.#finishing.length === 1) setImmediate(() => this.#finish());
  }

  #finish(): void {
    const done = this.#finishing;
    this.#finishing = [];
    this.hooks.handingOn();
    for (const f of done) f();
  }

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

  /**
   * Stop a task (the running one when no taskId) for `reason`: one not sent yet never reaches the
   * bee; a JS task's ctx.signal fires first and it gets ABORT_GRACE_MS to settle (its bee then
   * stays); anything else, or a task that ignores the signal, costs the bee (`kill`).
   */
  abort(reason: WireError, taskId: string | undefined, child: ChildProcess | null, kill: () => void): void {
    const r = taskId === undefined ? this.head : this.find(taskId);
    if (taskId !== undefined && !r) return;
    // Not sent yet: settled tasks are not sent.
    if (r && !r.started && this.unsent(r)) r.settle({ ok: false, error: reason });
    else if (!r || !child || r.job.spec.kind !== 'js') kill();
    else r.beginAbort(reason, child, kill);
  }

  /** The bee is gone: the running task fails with `error`; the rest never ran and are handed back, unless cancelled. */
  beeGone(error: WireError): void {
    const [head, ...behind] = this.takeAll();
    head?.settle({ ok: false, error });
    // Last first, so the pool's queue gets them back in order.
    for (const t of behind.reverse()) t.settle(t.abort ? { ok: false, error: t.abort.reason } : null);
  }

  /**
   * Whether `job` may wait in the bee behind these: fewer than `depth`, all of them JS like `job`
   * (other kinds keep a bee to themselves: their aborts kill it) and none aborting.
   */
  canQueue(job: Job, depth: number): boolean {
    if (this.#tasks.length >= depth || job.spec.kind !== 'js') return false;
    return this.#tasks.every((t) => t.job.spec.kind === 'js' && !t.abort);
  }

  #flush(): void {
    const ts = this.#toSend.filter((t) => !t.settled);
    this.#toSend = [];
    if (ts.length > 0) this.hooks.send(ts);
  }
}

/** Tasks for a bee as one message: `run` for one, `runs` for more. */
export function runMessage(ts: readonly ChamberTask[], scratchDir: string): HiveToBee {
  const run = (t: ChamberTask) => ({ taskId: t.job.taskId, spec: t.job.spec, scratchDir });
  return ts.length === 1 ? { type: 'run', ...run(ts[0]!) } : { type: 'runs', tasks: ts.map(run) };
}
