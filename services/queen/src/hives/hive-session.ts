import type WebSocket from 'ws';
import type { BeeState, BeeStatus, HiveResources, HiveView, QueenToHive } from '@apiary/protocol';

/** A connected hive as the queen sees it: rebuilt from hello and heartbeats, never persisted. */
export class HiveSession {
  state: 'ready' | 'draining' | 'lost' = 'ready';
  lastHeartbeatAt = Date.now();
  bees: BeeStatus[] = [];
  queued = 0;
  loadAvg = 0;
  freeMemoryBytes = 0;
  /** taskId → attempt, for tasks assigned to this hive and not yet finished. */
  readonly inFlight = new Map<string, number>();

  constructor(
    readonly id: string,
    readonly resources: HiveResources,
    private readonly ws: WebSocket,
  ) {}

  /** Tasks in flight per hive: every bee busy plus one queued behind each, so a bee never waits on a round trip. */
  get capacity(): number {
    return this.resources.bees * 2;
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

  send(msg: QueenToHive): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close(code: number, reason: string): void {
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
