import type { ChildProcess } from 'node:child_process';
import type { BeeState, BeeStatus, BeeToHive, RestartReason, WireError } from '@apiary/protocol';
import { killTree, StateMachine, type Logger, type TreeUsage } from '@apiary/runtime';
import { forkBee, onBeeMessage, routeBeeOutput, whenBeeEnds } from './bee-process.js';
import { BEE_TRANSITIONS, restartReason, type Job } from './chamber-job.js';
import { HiveErrors } from './errors.js';
import { BeeUsage } from './bee-usage.js';
import type { ChamberTask } from './chamber-task.js';
import { InBee, runMessage, type Settled } from './in-bee.js';
import { OutputRoute } from './output-capture.js';
import { emptyDir } from './scratch.js';

// Job and Outcome are what the pool and the hive hand a chamber, Settled what it hands back: re-exported so they import one module.
export type { Job, Outcome } from './chamber-job.js';
export type { Settled } from './in-bee.js';

/**
 * A sealed chamber: one bee process with its memory budget, its own scratch dir and a kill on
 * timeout. The chamber outlives its bees: when a bee is killed or dies, the chamber reports the
 * task's outcome and the pool starts a fresh bee in the same chamber.
 *
 * The pipeline: while tasks are short the pool may queue more JS tasks in a busy bee (up to its
 * depth); the tasks sent in one turn go as one `runs` message. The bee runs them in order, each
 * result sent before the next starts. The head of #inBee is the running task: its timeout counts
 * from when it became the head. When the bee dies, the head takes the kill reason; the tasks behind
 * it never ran and are handed back (Settled null) to run elsewhere, with no attempt spent.
 */
export class Chamber {
  readonly sm: StateMachine<BeeState>;
  #child: ChildProcess | null = null;
  /** Tasks given to the bee, in order; the first runs (their life there: in-bee.ts). */
  readonly #inBee = new InBee({
    send: (ts) => this.#sendRuns(ts),
    canBegin: () => this.#child !== null && this.#killReason === null,
    began: (t) => this.#begin(t),
    ended: (t) => this.output.end(t.job),
    handingOn: () => this.#maybeIdle(),
  });
  #killReason: WireError | null = null;
  #retired = false;
  readonly #usage: BeeUsage;
  restarts = -1;
  /** restarts split by why the previous bee went (for the queen's apiary_bee_restarts_total). */
  readonly restartReasons: Partial<Record<RestartReason, number>> = {};
  idleSince = 0;
  /** Where a running task's stdout/stderr goes (the hive sends it to the queen); no sink: the hive's stderr. */
  readonly output = new OutputRoute();
  /** A task became this bee's running one (the pool reports its start). */
  onTaskStart: ((job: Job) => void) | null = null;

  constructor(
    readonly id: number,
    readonly budgetBytes: number,
    readonly scratchDir: string,
    readonly defaultTimeoutMs: number,
    private readonly log: Logger,
    private readonly onExit: (c: Chamber) => void,
  ) {
    this.sm = new StateMachine<BeeState>(`bee-${id}`, 'exited', BEE_TRANSITIONS, log);
    this.#usage = new BeeUsage(id, log);
  }

  /** Tasks that started on this chamber's bees and ended. */
  get tasksRun(): number {
    return this.#inBee.ran;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Fork a bee and resolve when it reports ready (DuckDB open). */
  start(): Promise<void> {
    this.sm.to('starting');
    if (this.restarts >= 0) {
      const why = restartReason(this.#killReason);
      this.restartReasons[why] = (this.restartReasons[why] ?? 0) + 1;
    }
    this.restarts++;
    this.#killReason = null;
    return this.#spawn();
  }

  async #spawn(): Promise<void> {
    await emptyDir(this.scratchDir);
    // The pool may have stopped while we awaited: a bee forked now would outlive the pool's sweep.
    if (this.#retired) throw new Error(`bee ${this.id}: the pool is stopping`);
    this.#usage.restart();
    const { child, heapMb } = forkBee(this.id, this.budgetBytes, this.scratchDir);
    this.#child = child;
    child.on('error', (e) => this.log.warn(`bee ${this.id}: ${e.message}`));
    const oom = routeBeeOutput(child, this.id, this.log, () => this.output.capture());
    // Results already in the channel are read first: the head is then exactly the task that ran.
    whenBeeEnds(
      child,
      oom,
      () => this.#killReason !== null,
      (code, signal, heapCapped) => {
        if (heapCapped) this.#killReason ??= HiveErrors.heap(this.id, heapMb, this.budgetBytes);
        this.#onChildExit(child, code, signal);
      },
    );
    await new Promise<void>((resolve, reject) => {
      onBeeMessage(child, this.id, this.log, (msg) => this.#onMessage(msg, resolve));
      child.once('exit', (code, signal) => reject(new Error(`bee ${this.id} exited before it was ready (${signal ?? code})`)));
    });
  }

  #onMessage(msg: BeeToHive, ready: () => void): void {
    if (msg.type === 'ready') {
      this.idleSince = Date.now();
      this.log.info(`bee ${this.id} ready`, { beePid: msg.pid });
      this.sm.to('idle', `pid ${msg.pid}`);
      ready();
      return;
    }
    // DuckDB's own out-of-memory: the bee is alive but its allocator is suspect; replace it.
    const oom = this.#inBee.deliver(msg, this.output);
    if (oom) this.kill(oom);
  }

  /** Whether this bee can take `job` now: idle; or busy, not being killed, with room for it (InBee.canQueue). */
  canTake(job: Job, depth: number): boolean {
    if (!this.#child) return false;
    if (this.sm.is('idle')) return true;
    return this.sm.is('busy') && this.#killReason === null && this.#inBee.canQueue(job, depth);
  }

  /** Tasks in the bee (running and waiting). */
  get load(): number {
    return this.#inBee.length;
  }

  /** Run one job (queued behind the bee's others, if any); resolves once it has ended (Settled). */
  run(job: Job): Promise<Settled> {
    const child = this.#child;
    if (!child || !(this.sm.is('idle') || this.sm.is('busy'))) throw new Error(`bee ${this.id} cannot take a task`);
    if (this.sm.is('idle')) this.sm.to('busy', job.taskId);
    return this.#inBee.run(job, job.limits.timeoutMs ?? this.defaultTimeoutMs);
  }

  /** `t` is the bee's running task now. */
  #begin(t: ChamberTask): void {
    t.start(() => this.abort(HiveErrors.timeout(t.timeoutMs), t.job.taskId));
    this.output.begin(t.job);
    this.onTaskStart?.(t.job);
  }

  /** This turn's tasks for the bee, as one message. */
  #sendRuns(ts: ChamberTask[]): void {
    try {
      this.#child?.send(runMessage(ts, this.scratchDir)); // no bee: its exit settles them
    } catch {
      // the channel closed under us: the bee is dying, and its exit settles these tasks
    }
  }

  /** Before a turn's outcomes are handed on: an emptied bee is idle again, unless it is being killed (memory, timeout, cancel). */
  #maybeIdle(): void {
    if (this.sm.is('busy') && this.#inBee.length === 0 && this.#killReason === null) {
      this.idleSince = Date.now();
      this.sm.to('idle');
    }
  }

  /** The running task's job. */
  get current(): Job | null {
    return this.#inBee.head?.job ?? null;
  }

  /** Every job in the bee, running first. */
  jobs(): Job[] {
    return this.#inBee.all().map((t) => t.job);
  }

  /** Whether `taskId` is in the bee, and whether it has started there. */
  holds(taskId: string): { started: boolean } | null {
    const t = this.#inBee.find(taskId);
    return t ? { started: t.started } : null;
  }

  /**
   * Stop the running task for `reason` (cancel, timeout). A JS task's ctx.signal fires first and it
   * gets ABORT_GRACE_MS to settle (its bee then stays); anything else, or a task that ignores the
   * signal, has its bee killed as kill() does.
   */
  abort(reason: WireError, taskId?: string): void {
    this.#inBee.abort(reason, taskId, this.#child, () => this.kill(reason));
  }

  /** Kill the bee's whole tree; a running task fails with `reason`. The pool decides on a replacement. */
  kill(reason: WireError): void {
    const pid = this.#child?.pid;
    if (!pid || this.sm.is('exited')) return;
    this.#killReason ??= reason;
    // Out of the dispatchable states at once: its exit event comes later.
    if (this.sm.is('idle')) this.sm.to('stopping');
    this.log.info(`killing bee ${this.id}`, { beePid: pid, code: reason.code, reason: reason.message });
    killTree(pid, 'SIGKILL');
  }

  /** Polite stop: SIGTERM to the bee's group (a task may trap it); the caller escalates later. */
  terminate(): void {
    const pid = this.#child?.pid;
    if (!pid || this.sm.is('exited')) return;
    if (this.sm.can('stopping')) this.sm.to('stopping');
    this.#killReason ??= HiveErrors.cancelled('the hive is shutting down');
    killTree(pid, 'SIGTERM');
  }

  #onChildExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    // Whatever the task left in the bee's group goes with it.
    if (child.pid) killTree(child.pid, 'SIGKILL');
    this.#inBee.beeGone(this.#killReason ?? HiveErrors.crashed(this.id, code, signal));
    this.#usage.clear();
    this.log.info(`bee ${this.id} exited`, { beePid: child.pid, code, signal, reason: this.#killReason?.code ?? 'crashed' });
    this.sm.to('exited', signal ?? `code ${code}`);
    this.onExit(this);
  }

  /** No more bees in this chamber (the pool is stopping). */
  retire(): void {
    this.#retired = true;
  }

  /** Take a usage sample of the bee's tree; over budget means the tree is killed. */
  sample(u: TreeUsage | undefined, now: number): void {
    if (!u || !this.#child) return;
    // An impossible reading (0 bytes) is reported, never compared with the budget as if it were real.
    if (!this.#usage.take(u, this.pid, now)) return;
    if (u.rssBytes > this.budgetBytes) this.kill(HiveErrors.memory(this.id, u.rssBytes, this.budgetBytes));
  }

  status(): BeeStatus {
    return {
      id: this.id,
      pid: this.pid,
      state: this.sm.state,
      taskId: this.#inBee.head?.job.taskId ?? null,
      budgetBytes: this.budgetBytes,
      tasksRun: this.tasksRun,
      restarts: Math.max(0, this.restarts),
      ...this.#usage.view(),
      restartReasons: { ...this.restartReasons },
    };
  }
}
