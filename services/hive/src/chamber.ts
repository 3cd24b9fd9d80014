import type { ChildProcess } from 'node:child_process';
import { BeeToHive, validate, type BeeState, type BeeStatus, type RestartReason, type WireError } from '@apiary/protocol';
import { killTree, StateMachine, type Logger, type TreeUsage } from '@apiary/runtime';
import { afterStderrDrains, forkBee, routeBeeOutput } from './bee-process.js';
import { BEE_TRANSITIONS, restartReason, type Job, type Outcome } from './chamber-job.js';
import { HiveErrors } from './errors.js';
import { BeeUsage } from './bee-usage.js';
import { ChamberTask } from './chamber-task.js';
import { OutputRoute } from './output-capture.js';
import { dirStamp, emptyDir } from './scratch.js';

// Job and Outcome are what the pool and the hive hand a chamber: re-exported so they import one module.
export type { Job, Outcome } from './chamber-job.js';

/**
 * A sealed chamber: one bee process with its memory budget, its own scratch dir and a kill on
 * timeout. The chamber outlives its bees: when a bee is killed or dies, the chamber reports the
 * task's outcome and the pool starts a fresh bee in the same chamber.
 */
export class Chamber {
  readonly sm: StateMachine<BeeState>;
  #child: ChildProcess | null = null;
  #running: ChamberTask | null = null;
  #killReason: WireError | null = null;
  #ready: Promise<void> | null = null;
  #cleanStamp = -1n;
  #retired = false;
  readonly #usage: BeeUsage;
  tasksRun = 0;
  restarts = -1;
  /** restarts split by why the previous bee went (for the queen's apiary_bee_restarts_total). */
  readonly restartReasons: Partial<Record<RestartReason, number>> = {};
  idleSince = 0;
  /** Where a running task's stdout/stderr goes (the hive sends it to the queen); no sink: the hive's stderr. */
  readonly output = new OutputRoute();

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
    this.#ready = this.#spawn();
    return this.#ready;
  }

  async #spawn(): Promise<void> {
    await emptyDir(this.scratchDir);
    // The pool may have stopped while we awaited: a bee forked now would outlive the pool's sweep.
    if (this.#retired) throw new Error(`bee ${this.id}: the pool is stopping`);
    this.#cleanStamp = dirStamp(this.scratchDir);
    this.#usage.restart();
    const { child, heapMb } = forkBee(this.id, this.budgetBytes, this.scratchDir);
    this.#child = child;
    child.on('error', (e) => this.log.warn(`bee ${this.id}: ${e.message}`));
    const oom = routeBeeOutput(child, this.id, this.log, () => this.output.capture());
    await new Promise<void>((resolve, reject) => {
      const onMessage = (raw: unknown) => this.#onMessage(raw, resolve);
      child.on('message', onMessage);
      child.once('exit', (code, signal) => {
        reject(new Error(`bee ${this.id} exited before it was ready (${signal ?? code})`));
        if (signal !== 'SIGABRT' || this.#killReason) return this.#onChildExit(child, code, signal);
        // An abort may be V8 at its heap cap (bee-process.ts): judged once its stderr has drained.
        afterStderrDrains(child, () => {
          if (oom.seen) this.#killReason ??= HiveErrors.heap(this.id, heapMb, this.budgetBytes);
          this.#onChildExit(child, code, signal);
        });
      });
    });
  }

  #onMessage(raw: unknown, ready: () => void): void {
    let msg: BeeToHive;
    try {
      msg = validate(BeeToHive, raw, 'bee→hive message');
    } catch (e) {
      this.log.warn(`bee ${this.id}: ${(e as Error).message}`);
      return;
    }
    if (msg.type === 'ready') {
      this.idleSince = Date.now();
      this.log.info(`bee ${this.id} ready`, { beePid: msg.pid });
      this.sm.to('idle', `pid ${msg.pid}`);
      ready();
      return;
    }
    const r = this.#running;
    if (!r || r.job.taskId !== msg.taskId) return;
    // The task settled after its signal fired: it honoured it, and its bee lives on.
    if (r.abort) r.settle({ ok: false, error: r.abort.reason });
    else if (msg.type === 'result') r.settle({ ok: true, value: msg.value });
    else {
      r.settle({ ok: false, error: msg.error });
      // DuckDB's own out-of-memory: the bee is alive but its allocator is suspect; replace it.
      if (msg.error.code === 'BEE_MEMORY_EXCEEDED') this.kill(msg.error);
    }
  }

  /** Run one job; resolves with its outcome once the scratch dir is empty again. */
  run(job: Job): Promise<Outcome> {
    const child = this.#child;
    if (!child || !this.sm.is('idle')) throw new Error(`bee ${this.id} is not idle`);
    this.sm.to('busy', job.taskId);
    const timeoutMs = job.limits.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<Outcome>((resolve) => {
      const onTimeout = () => this.abort(HiveErrors.timeout(timeoutMs));
      this.#running = new ChamberTask(job, timeoutMs, onTimeout, (t, o) => this.#settled(t, o, resolve));
      this.output.begin(job);
      try {
        child.send({ type: 'run', taskId: job.taskId, spec: job.spec, scratchDir: this.scratchDir });
      } catch {
        // the channel closed under us: the bee is dying, and its exit fails the task as BEE_CRASHED
      }
    });
  }

  /** A task's outcome is known: empty its scratch, send its last output, then hand the outcome on. */
  #settled(t: ChamberTask, o: Outcome, resolve: (o: Outcome) => void): void {
    if (this.#running === t) this.#running = null;
    this.tasksRun++;
    // What the task printed just before its result may still be in the pipe (another fd than the
    // IPC channel): a turn of the loop reads it, and it goes out before the result.
    const finish = () => {
      this.output.end(t.job);
      // A bee that is being killed (memory, timeout, cancel) never goes back to idle.
      if (this.sm.is('busy') && this.#killReason === null) {
        this.idleSince = Date.now();
        this.sm.to('idle');
      }
      resolve(o);
    };
    // Most tasks leave scratch untouched (see dirStamp): then no promise, only the turn.
    if (this.#cleanStamp !== -1n && dirStamp(this.scratchDir) === this.#cleanStamp) setImmediate(finish);
    else void this.#cleanScratch().then(() => setImmediate(finish));
  }

  /** Empty the scratch dir (a task touched it) and remember its clean stamp. */
  async #cleanScratch(): Promise<void> {
    try {
      await emptyDir(this.scratchDir);
      this.#cleanStamp = dirStamp(this.scratchDir);
    } catch (e) {
      this.log.warn(`bee ${this.id}: cannot empty scratch: ${(e as Error).message}`);
    }
  }

  get current(): Job | null {
    return this.#running?.job ?? null;
  }

  /**
   * Stop the running task for `reason` (cancel, timeout). A JS task's ctx.signal fires first and it
   * gets ABORT_GRACE_MS to settle (its bee then stays); anything else, or a task that ignores the
   * signal, has its bee killed as kill() does.
   */
  abort(reason: WireError): void {
    const r = this.#running;
    const child = this.#child;
    if (!r || !child || r.job.spec.kind !== 'js') {
      this.kill(reason);
      return;
    }
    r.beginAbort(reason, child, () => this.kill(reason));
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
    const r = this.#running;
    if (r) r.settle({ ok: false, error: this.#killReason ?? HiveErrors.crashed(this.id, code, signal) });
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
      taskId: this.#running?.job.taskId ?? null,
      budgetBytes: this.budgetBytes,
      tasksRun: this.tasksRun,
      restarts: Math.max(0, this.restarts),
      ...this.#usage.view(),
      restartReasons: { ...this.restartReasons },
    };
  }
}
