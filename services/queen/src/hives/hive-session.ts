import type WebSocket from 'ws';
import { beeCap } from './bee-cap.js';
import { PacketBatcher, type BeeState, type BeeStatus, type HiveResources, type HiveView, type QueenToHive } from '@apiary/protocol';

/** Tasks in flight per bee by default: one running and one queued behind it. */
export const PIPELINE_DEPTH = 2;
/**
 * Tasks in flight per bee while this hive's attempts are short (see SHORT_TASK_MS): for a task that
 * takes less than a queen↔hive round trip, two per bee leaves the bee idle waiting for the next
 * assign, and each packet and ledger commit carries only a task or two. Deeper, they batch.
 */
export const SHORT_TASK_PIPELINE_DEPTH = 8;
/** An attempt this short (the hive's moving average of reported run times) counts as short. */
export const SHORT_TASK_MS = 5;
/** Weight of the newest run time in the moving average: ~20 results move it. */
const DURATION_EWMA_WEIGHT = 0.05;

/** A connected hive as the queen sees it: rebuilt from hello and heartbeats, never persisted. */
export class HiveSession {
  state: 'ready' | 'draining' | 'lost' = 'ready';
  lastHeartbeatAt = Date.now();
  bees: BeeStatus[] = [];
  queued = 0;
  loadAvg = 0;
  freeMemoryBytes = 0;
  /** Absolute paths (on the queen) of the cells this hive holds in its cache. */
  cachedCells: ReadonlySet<string> = new Set();
  /** Reads the data root in place (same machine): holds every cell. Undefined until its first heartbeat. */
  dataInPlace: boolean | undefined = undefined;
  /** taskId → attempt, for tasks assigned to this hive and not yet finished. */
  readonly inFlight = new Map<string, number>();

  readonly #out: PacketBatcher<QueenToHive>;
  /** Moving average of this hive's reported attempt run times; unknown (long) until the first result. */
  #avgRunMs = Number.POSITIVE_INFINITY;

  constructor(
    readonly id: string,
    readonly resources: HiveResources,
    private readonly ws: WebSocket,
  ) {
    this.#out = new PacketBatcher((packet) => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(packet);
      return true; // a closed socket drops the packet: its tasks are re-dispatched as HIVE_LOST
    });
  }

  /** The bees the queen counts on: as advertised, capped by the hive's cores (see beeCap). */
  get beeCount(): number {
    return beeCap(this.resources);
  }

  /**
   * Tasks in flight per bee: PIPELINE_DEPTH, or SHORT_TASK_PIPELINE_DEPTH while its tasks are short,
   * so a bee never waits on a round trip. Long tasks keep it at 2, so one hive does not hoard work
   * another could start now.
   */
  get depth(): number {
    return this.#avgRunMs < SHORT_TASK_MS ? SHORT_TASK_PIPELINE_DEPTH : PIPELINE_DEPTH;
  }

  get capacity(): number {
    return this.beeCount * this.depth;
  }

  /** A result reported this run time (ms): feeds the moving average that sets the depth. */
  noteRunTime(ms: number): void {
    this.#avgRunMs = Number.isFinite(this.#avgRunMs) ? this.#avgRunMs + DURATION_EWMA_WEIGHT * (ms - this.#avgRunMs) : ms;
  }

  get free(): number {
    return this.state === 'ready' ? this.capacity - this.inFlight.size : 0;
  }

  /** Task messages keep bee states current between heartbeats (which remain the source of truth). */
  beeBusy(bee: number, taskId: string): void {
    const b = this.bees[bee];
    if (b && (b.state === 'idle' || b.state === 'busy')) Object.assign(b, { state: 'busy', taskId });
  }

  beeDone(bee: number, state: BeeState): void {
    const b = this.bees[bee];
    if (b) Object.assign(b, { state, taskId: null, tasksRun: b.tasksRun + 1 });
  }

  /** Queued and written with the rest of this turn's messages as one packet. */
  send(msg: QueenToHive): void {
    this.#out.push(msg);
  }

  /** Write what is queued now, as one packet (CommitThenSend does after its commit: no extra loop turn). */
  flush(): void {
    this.#out.flush();
  }

  close(code: number, reason: string): void {
    this.#out.flush();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  view(): HiveView {
    return {
      id: this.id,
      state: this.state,
      resources: this.resources,
      lastHeartbeatAt: this.lastHeartbeatAt,
      bees: this.bees,
      queued: this.queued,
      inFlight: this.inFlight.size,
    };
  }
}
