import WebSocket from 'ws';
import { helloFrame } from './hello.js';

/**
 * A hive that speaks the real protocol over a real socket but runs no bees: it reports whatever
 * load a test needs (to make the colony hot or critical). It must keep beating, or the queen
 * drops it after its hive timeout; `close()` stops the beats and the socket.
 */
export class FakeHive {
  #beat: Record<string, unknown>;
  #timer: NodeJS.Timeout | null = null;
  /** Every message the queen sent it, in order (batched frames unpacked). */
  readonly received: Record<string, unknown>[] = [];

  private constructor(
    readonly ws: WebSocket,
    readonly bees: number,
    beeStatuses: number,
  ) {
    this.#beat = FakeHive.load(beeStatuses, { cpuPercent: 0, rssFraction: 0, queued: 0 });
    ws.on('message', (data) => {
      const v = JSON.parse(data.toString()) as Record<string, unknown> | Record<string, unknown>[];
      this.received.push(...(Array.isArray(v) ? v : [v]));
    });
  }

  /**
   * cores: what hello reports (default: one per bee). beeStatuses: how many bees each heartbeat lists
   * (default: bees), so a hive can claim 100,000 bees without sending 100,000 statuses per beat.
   * running: the attempts it claims to hold (as after a reconnect).
   */
  static async join(
    port: number,
    joinToken: string,
    o: {
      name: string;
      bees: number;
      beatEveryMs: number;
      cores?: number;
      beeStatuses?: number;
      running?: { taskId: string; attempt: number; token: string }[];
    },
  ): Promise<FakeHive> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/hive`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const h = new FakeHive(ws, o.bees, o.beeStatuses ?? o.bees);
    const hello = helloFrame(joinToken, o.name, { host: 'fake', cores: o.cores ?? o.bees, memoryBytes: 2e9, bees: o.bees, ephemeral: false });
    ws.send(JSON.stringify({ ...hello, running: o.running ?? [] }));
    h.#send();
    h.#timer = setInterval(() => h.#send(), o.beatEveryMs);
    return h;
  }

  /** A heartbeat where every bee uses cpuPercent of a core and rssFraction of its budget, with `queued` waiting. */
  static load(bees: number, l: { cpuPercent: number; rssFraction: number; queued: number }): Record<string, unknown> {
    const budget = 3e8;
    const bee = (id: number) => ({
      id,
      pid: null,
      state: 'busy',
      taskId: null,
      rssBytes: Math.round(budget * l.rssFraction),
      budgetBytes: budget,
      cpuPercent: l.cpuPercent,
      tasksRun: 0,
      restarts: 0,
    });
    return { type: 'heartbeat', at: Date.now(), bees: Array.from({ length: bees }, (_, i) => bee(i)), queued: l.queued, loadAvg: 0, freeMemoryBytes: 1e9 };
  }

  /** Report this load from now on (sent at once, then on every beat). */
  report(l: { cpuPercent: number; rssFraction: number; queued: number }): void {
    this.#beat = FakeHive.load(this.bees, l);
    this.#send();
  }

  /** Send any message (a result, a forged one) as this hive. */
  sendMessage(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** The messages of one type received so far. */
  messages(type: string): Record<string, unknown>[] {
    return this.received.filter((m) => m.type === type);
  }

  #send(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...this.#beat, at: Date.now() }));
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((r) => this.ws.once('close', r));
    this.ws.close();
    await closed;
  }
}
