import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beeScratchDir, type HiveConfig } from '@apiary/config';
import type { BeeStatus } from '@apiary/protocol';
import { FifoQueue, waitForExit, waitUntil, type Logger } from '@apiary/runtime';
import { Chamber, type Job, type Outcome } from './chamber.js';
import { PipelineDepth } from './pipeline-depth.js';
import { HiveErrors } from './errors.js';
import { MemoryMonitor } from './memory-monitor.js';
import type { OutputChunk } from './output-capture.js';

import { removeDir } from './scratch.js';

export interface PoolEvents {
  started(job: Job, bee: number): void;
  finished(job: Job, bee: number, outcome: Outcome, durationMs: number): void;
  /** A bee came up or went down (not per task): worth telling the queen now rather than at the next beat. */
  beeLifecycle(bee: number): void;
  /** A running task printed (see OutputCapture): sent before its `finished`. */
  output?(job: Job, chunks: OutputChunk[], cut: number): void;
}

/** A chamber whose bee was never forked (on demand, until work needs it). */
const dormant = (c: Chamber) => c.restarts < 0 && c.sm.is('exited');

/** Delay before re-forking a bee that keeps dying without running a task, so a broken setup does not spin. */
const RESPAWN_BACKOFF_MS = 1000;

/**
 * N chambers and a FIFO queue. A job waits in the queue until a bee is idle; the bee idle longest
 * gets it, which spreads work over all bees. While tasks are short (PipelineDepth), a JS job may also
 * go to a busy bee with room in its pipeline (the least loaded), so a bee never waits on a round trip.
 * A memory monitor samples every bee's process tree.
 */
export class BeePool {
  readonly chambers: Chamber[];
  readonly #queue = new FifoQueue<Job>();
  /** Tasks per bee: 1, or more while the tasks run short. */
  readonly #depth = new PipelineDepth();
  #accepting = true;
  readonly #monitor: MemoryMonitor;
  /**
   * Fork bees as the work needs them, not all at start: the first at start, one more whenever a job
   * waits with no bee idle or starting for it. For a one-shot run's hosted hive (in-process-hive.ts).
   */
  onDemand = false;
  #started: Promise<void> | null = null;

  constructor(
    private readonly cfg: HiveConfig,
    private readonly events: PoolEvents,
    private readonly log: Logger,
  ) {
    this.chambers = Array.from(
      { length: cfg.bees },
      (_, i) => new Chamber(i, cfg.memoryPerBeeBytes, beeScratchDir(cfg.cacheDir, i), cfg.taskTimeoutMs, log, (c) => this.#onBeeExit(c)),
    );
    this.#monitor = new MemoryMonitor(this.chambers);
    const output = events.output?.bind(events);
    for (const c of this.chambers) {
      if (output) c.output.sink = output;
      c.onTaskStart = (job) => events.started(job, c.id);
    }
  }

  /**
   * Start the memory monitor and the bees: the first alone, then the rest together. Loading DuckDB
   * is CPU-bound, so on a small machine this gets the first bee (and a one-shot task) going sooner.
   */
  start(): Promise<void> {
    // Once: a hosted hive starts its pool before it has a queen link, then Hive.start() asks again.
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    await mkdir(path.join(this.cfg.cacheDir, 'scratch'), { recursive: true });
    this.#monitor.start(this.cfg.memoryPollMs);
    const [first] = this.chambers;
    // Only bees not forked yet: on demand, a job (or startAll) may have forked some already.
    if (first && dormant(first)) await this.#startBee(first);
    if (!this.onDemand) await Promise.all(this.chambers.filter(dormant).map((c) => this.#startBee(c)));
  }

  /** Fork every bee not forked yet, and stop forking on demand (a command that wants them all now). */
  startAll(): void {
    this.onDemand = false;
    for (const c of this.chambers.filter(dormant)) void this.#startBee(c);
  }

  /** On demand: one more bee for each waiting job that no starting bee will take. */
  #wake(): void {
    let want = this.#queue.length - this.chambers.filter((c) => c.sm.is('starting')).length;
    for (const c of this.chambers) {
      if (want <= 0) return;
      // Never started (a bee that died is respawned by #onBeeExit as ever).
      if (dormant(c)) {
        want--;
        void this.#startBee(c);
      }
    }
  }

  async #startBee(c: Chamber): Promise<void> {
    // A respawn timer may fire after stop() began: a bee forked then would outlive the pool's sweep.
    if (!this.#accepting) return;
    try {
      await c.start();
      this.events.beeLifecycle(c.id);
      this.#dispatch();
    } catch (e) {
      if (this.#accepting) this.log.error(`bee ${c.id} failed to start: ${(e as Error).message}`);
    }
  }

  #onBeeExit(c: Chamber): void {
    this.events.beeLifecycle(c.id);
    if (!this.#accepting) return;
    // A replacement that has never run a task dying again looks like a broken setup: back off.
    const crashLooping = c.restarts > 0 && c.tasksRun === 0;
    setTimeout(() => void this.#startBee(c), crashLooping ? RESPAWN_BACKOFF_MS : 0);
  }

  submit(job: Job): void {
    this.#queue.push(job);
    this.#dispatch();
  }

  #dispatch(): void {
    if (!this.#accepting) return;
    while (this.#queue.length > 0) {
      const next = this.#queue.peek()!;
      const bee = this.#pickIdle(next.avoidBees) ?? this.#pickPipeline(next);
      if (!bee) {
        if (this.onDemand) this.#wake();
        return;
      }
      const job = this.#queue.shift()!;
      // Its start is reported by the chamber when it runs (it may wait behind others in the bee).
      void bee.run(job).then((s) => {
        if (s === null) {
          this.#handBack(job);
          // After every job handed back with it is back in the queue (they resolve together): order kept.
          queueMicrotask(() => this.#dispatch());
          return;
        }
        this.#depth.note(s.ms);
        this.events.finished(job, bee.id, s.outcome, s.ms);
        this.#dispatch();
      });
    }
  }

  /** A busy bee with room in its pipeline for `job` (the least loaded), none it failed on; null when tasks run long. */
  #pickPipeline(job: Job): Chamber | null {
    const depth = this.#depth.value;
    if (depth <= 1) return null;
    let best: Chamber | null = null;
    for (const c of this.chambers) {
      if (!job.avoidBees.includes(c.id) && c.canTake(job, depth) && (!best || c.load < best.load)) best = c;
    }
    return best;
  }

  /** A job whose bee died before it started: back to the front of the queue, no attempt spent (it never ran). */
  #handBack(job: Job): void {
    if (!this.#accepting) {
      this.events.finished(job, -1, { ok: false, error: HiveErrors.cancelled('the hive shut down before the task started') }, 0);
      return;
    }
    this.log.info(`task ${job.taskId} handed back: its bee went before it started`);
    this.#queue.unshift(job);
  }

  /** The bee idle longest, preferring one this task has not failed on already. */
  #pickIdle(avoid: readonly number[]): Chamber | null {
    let best: Chamber | null = null;
    const better = (c: Chamber, b: Chamber) => {
      const ca = avoid.includes(c.id);
      const ba = avoid.includes(b.id);
      return ca !== ba ? !ca : c.idleSince < b.idleSince;
    };
    for (const c of this.chambers) if (c.sm.is('idle') && (!best || better(c, best))) best = c;
    return best;
  }

  /** Cancel a queued or running task. A running one costs its bee (killed and replaced), unless it is a JS task that honours ctx.signal. */
  cancel(taskId: string): boolean {
    const queued = this.#queue.removeWhere((j) => j.taskId === taskId);
    for (const j of queued) this.events.finished(j, -1, { ok: false, error: HiveErrors.cancelled('cancelled before it started') }, 0);
    for (const c of this.chambers) {
      const held = c.holds(taskId);
      if (!held) continue;
      c.abort(HiveErrors.cancelled(held.started ? 'cancelled while running' : 'cancelled before it started'), taskId);
      return true;
    }
    return queued.length > 0;
  }

  /** Tasks a bee may hold at once now (PipelineDepth). */
  get depth(): number {
    return this.#depth.value;
  }

  get queued(): number {
    return this.#queue.length;
  }

  running(): Job[] {
    return this.chambers.map((c) => c.current).filter((j): j is Job => j !== null);
  }

  /** Every job this hive holds: in the bees (running first), then queued (what a reconnecting hive reports). */
  held(): Job[] {
    return [...this.chambers.flatMap((c) => c.jobs()), ...this.#queue.toArray()];
  }

  status(): BeeStatus[] {
    return this.chambers.map((c) => c.status());
  }

  /**
   * Stop: queued jobs are handed back as cancelled, idle bees stop at once, running tasks get up to
   * graceMs to finish; then every remaining tree is SIGKILLed (a task that traps SIGTERM cannot stall us).
   */
  async stop(graceMs: number): Promise<void> {
    this.#accepting = false;
    for (const c of this.chambers) c.retire();
    for (const j of this.#queue.drain()) {
      this.events.finished(j, -1, { ok: false, error: HiveErrors.cancelled('the hive shut down before the task started') }, 0);
    }
    const pids = this.chambers.map((c) => c.pid).filter((p): p is number => p !== null);
    // Waiting in a bee is queued too: dropped there, never started.
    const notStarted = HiveErrors.cancelled('the hive shut down before the task started');
    for (const c of this.chambers) for (const j of c.jobs().slice(1)) c.abort(notStarted, j.taskId);
    for (const c of this.chambers) if (!c.current) c.terminate();
    await waitUntil(() => this.chambers.every((c) => !c.current), graceMs);
    for (const c of this.chambers) c.kill(HiveErrors.cancelled('the hive shut down before the task finished'));
    await waitForExit(pids, 2000);
    this.#monitor.stop();
    await removeDir(path.join(this.cfg.cacheDir, 'scratch'));
  }
}
