import type { WebSocket } from 'ws';
import { CloseCodes, type Hello, type HiveToQueen } from '@apiary/protocol';
import { waitUntil, type Logger } from '@apiary/runtime';
import type { Scheduler } from '../tasks/scheduler.js';
import { HiveSession } from './hive-session.js';

/** Check often enough that a silent hive is declared lost within a tenth of the timeout of it expiring. */
export function lossCheckEveryMs(hiveTimeoutMs: number): number {
  return Math.max(50, Math.floor(hiveTimeoutMs / 10));
}

/**
 * The live registry of connected hives, rebuilt from hello and heartbeats. A hive is lost when its
 * socket closes or when it has been silent for hiveTimeoutMs; its tasks then go back to the scheduler.
 */
export class HiveRegistry {
  readonly #byWs = new Map<WebSocket, HiveSession>();
  #seq = 0;
  #detector: NodeJS.Timeout;
  #scheduler: Scheduler | null = null;
  #data: { root: string; probe: string; probeContent: string } | undefined;

  constructor(
    private readonly hiveTimeoutMs: number,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {
    this.#detector = setInterval(() => this.#detect(), lossCheckEveryMs(hiveTimeoutMs));
    this.#detector.unref();
  }

  attach(s: Scheduler): void {
    this.#scheduler = s;
  }

  /** What `welcome` tells hives about the data root (see Welcome.data). */
  setDataRoot(d: { root: string; probe: string; probeContent: string }): void {
    this.#data = d;
  }

  sessions(): Iterable<HiveSession> {
    return this.#byWs.values();
  }

  /** The session of a hive's socket (undefined before hello or after loss). */
  sessionOf(ws: WebSocket): HiveSession | undefined {
    return this.#byWs.get(ws);
  }

  get size(): number {
    return this.#byWs.size;
  }

  onHello(ws: WebSocket, hello: Hello): HiveSession {
    const id = `${hello.hive.name}#${++this.#seq}`;
    const s = new HiveSession(id, hello.hive, ws);
    this.#byWs.set(ws, s);
    s.send({ type: 'welcome', hiveId: id, heartbeatMs: this.heartbeatMs, ...(this.#data ? { data: this.#data } : {}) });
    // A persistent hive reconnecting reports what it still holds: reclaim those rather than re-run them.
    const stale = this.#scheduler?.claim(s, hello.running) ?? [];
    for (const taskId of stale) s.send({ type: 'task.cancel', taskId });
    this.log.info(`hive joined: ${id}`, { hive: id, host: hello.hive.host, bees: hello.hive.bees, hivePid: hello.hive.pid });
    if (s.beeCount < hello.hive.bees) this.log.warn(`hive ${id} advertises ${hello.hive.bees} bees on ${hello.hive.cores} cores; given work for ${s.beeCount}`);
    this.#scheduler?.pump();
    return s;
  }

  onMessage(ws: WebSocket, msg: Exclude<HiveToQueen, Hello>): void {
    const s = this.#byWs.get(ws);
    const sched = this.#scheduler;
    if (!s || !sched) return;
    s.lastHeartbeatAt = Date.now();
    switch (msg.type) {
      case 'heartbeat': {
        // Bees beyond the ones it may use (see HiveSession.beeCount) are not the queen's concern.
        s.bees = msg.bees.length > s.beeCount ? msg.bees.slice(0, s.beeCount) : msg.bees;
        s.queued = msg.queued;
        s.loadAvg = msg.loadAvg;
        s.freeMemoryBytes = msg.freeMemoryBytes;
        const wasInPlace = s.dataInPlace;
        s.dataInPlace = msg.dataInPlace === true;
        // Tasks that must run on the queen's filesystem may have been waiting for this answer.
        if (wasInPlace !== s.dataInPlace) sched.pump();
        if (msg.cachedCells && this.#data) {
          const root = this.#data.root;
          s.cachedCells = new Set(msg.cachedCells.map((rel) => `${root}/${rel}`));
        }
        return;
      }
      case 'task.started':
        s.beeBusy(msg.bee, msg.taskId);
        sched.onStarted(s, msg, msg.bee, msg.at);
        return;
      case 'task.succeeded':
        s.beeDone(msg.bee, msg.beeState);
        s.noteRunTime(msg.durationMs);
        sched.onSucceeded(s, msg, msg.value, msg.durationMs, msg.bee);
        return;
      case 'task.failed':
        s.beeDone(msg.bee, msg.beeState);
        if (msg.bee >= 0) s.noteRunTime(msg.durationMs); // bee -1: refused before any bee ran it
        sched.onFailed(s, msg, msg.error, msg.durationMs, msg.bee);
        return;
    }
  }

  onClose(ws: WebSocket, code: number): void {
    const s = this.#byWs.get(ws);
    if (s) this.#lose(s, `connection closed (${code})`);
  }

  #detect(): void {
    const now = Date.now();
    for (const s of this.#byWs.values()) {
      if (now - s.lastHeartbeatAt > this.hiveTimeoutMs) {
        this.#lose(s, `no heartbeat for ${now - s.lastHeartbeatAt} ms`);
        s.terminate();
      }
    }
  }

  #lose(s: HiveSession, why: string): void {
    if (s.state === 'lost') return;
    for (const [ws, x] of this.#byWs) if (x === s) this.#byWs.delete(ws);
    const draining = s.state === 'draining';
    s.state = 'lost';
    if (draining) this.log.info(`hive left: ${s.id}: ${why}`);
    else this.log.warn(`HIVE_LOST ${s.id}: ${why}`, { hive: s.id, inFlight: s.inFlight.size });
    this.#scheduler?.onHiveLost(s, why);
  }

  /** Tell the hives `which` selects to stop, giving running tasks graceMs; the others are left to reconnect later. */
  shutdownAll(graceMs: number, which: (s: HiveSession) => boolean = () => true): void {
    for (const s of this.#byWs.values()) {
      s.state = 'draining';
      if (which(s)) s.send({ type: 'shutdown', graceMs });
    }
  }

  /** Stop one hive (by id or name), e.g. for `keeper cluster down`. */
  stopOne(idOrName: string, graceMs: number): boolean {
    const s = [...this.#byWs.values()].find((x) => x.id === idOrName || x.resources.name === idOrName);
    if (!s) return false;
    s.state = 'draining';
    s.send({ type: 'shutdown', graceMs });
    return true;
  }

  /**
   * Resolve once no hive `which` selects is connected, or after waitMs. A hive that exits has written
   * its last results before its socket closes, but its process exit can be seen first: closing its
   * session then would drop those results (a waiting client reset, the task run again next start).
   */
  async whenGone(which: (s: HiveSession) => boolean, waitMs: number): Promise<void> {
    await waitUntil(() => ![...this.#byWs.values()].some(which), waitMs, 5);
  }

  close(): void {
    clearInterval(this.#detector);
    for (const s of this.#byWs.values()) s.close(CloseCodes.SHUTDOWN, 'queen stopped');
    this.#byWs.clear();
  }
}
