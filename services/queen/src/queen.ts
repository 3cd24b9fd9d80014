import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { QueenConfig } from '@apiary/config';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import { StateMachine, type Logger } from '@apiary/runtime';
import { HIVE_PATH, HiveGateway } from './hives/hive-gateway.js';
import { HiveRegistry } from './hives/hive-registry.js';
import { buildApp } from './http/app.js';
import { LocalHive } from './local-hive.js';
import { MemoryLedger, type TaskLedger } from './tasks/ledger.js';
import { Scheduler } from './tasks/scheduler.js';

export type QueenState = 'starting' | 'serving' | 'draining' | 'stopped';

const QUEEN_TRANSITIONS: Record<QueenState, readonly QueenState[]> = {
  starting: ['serving', 'draining'],
  serving: ['draining'],
  draining: ['stopped'],
  stopped: [],
};

/**
 * The queen: HTTP API and hive WebSocket on one port, the scheduler, the ledger and the hives it
 * started. It does no heavy work itself: tasks run in bees.
 */
export class Queen {
  readonly sm: StateMachine<QueenState>;
  readonly ledger: TaskLedger;
  readonly registry: HiveRegistry;
  readonly scheduler: Scheduler;
  readonly app: FastifyInstance;
  readonly startedAt = Date.now();
  #gateway: HiveGateway | null = null;
  #localHive: LocalHive | null = null;
  #stopping: Promise<void> | null = null;
  url = '';

  constructor(
    readonly cfg: QueenConfig,
    private readonly log: Logger,
  ) {
    this.sm = new StateMachine<QueenState>('queen', 'starting', QUEEN_TRANSITIONS, log);
    this.ledger = new MemoryLedger();
    this.registry = new HiveRegistry(cfg.hiveTimeoutMs, cfg.heartbeatMs, log);
    this.scheduler = new Scheduler(this.ledger, () => this.registry.sessions(), { maxAttempts: 3 }, log);
    this.registry.attach(this.scheduler);
    this.app = buildApp({
      clientToken: cfg.clientToken,
      maxBodyBytes: cfg.maxBodyBytes,
      scheduler: this.scheduler,
      admit: () => this.#admit(),
      colony: () => this.colony(),
      health: () => ({ ok: this.sm.is('serving'), state: this.sm.state, pid: process.pid }),
    });
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.cfg.host, port: this.cfg.port });
    const addr = this.app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `http://${host}:${addr.port}`;
    this.#gateway = new HiveGateway(
      this.app.server,
      this.cfg.joinToken,
      {
        onHello: (ws, hello) => {
          if (!this.sm.is('serving', 'starting')) return false;
          this.registry.onHello(ws, hello);
          return true;
        },
        onMessage: (ws, msg) => this.registry.onMessage(ws, msg),
        onClose: (ws, code) => this.registry.onClose(ws, code),
      },
      this.log,
      this.cfg.maxBodyBytes,
    );
    if (this.cfg.localHive) {
      this.#localHive = new LocalHive(this.cfg.localHive, this.log, (why) => this.#onLocalHiveGone(why));
      this.#localHive.start(`ws://127.0.0.1:${addr.port}${HIVE_PATH}`, this.cfg.joinToken, this.cfg.ephemeral);
    }
    this.sm.to('serving', this.url);
  }

  #admit(): void {
    if (!this.sm.is('serving', 'starting')) throw new ApiaryError('QUEEN_DRAINING', 'the queen is shutting down and takes no new work; retry against a running queen');
  }

  /** An ephemeral queen without its hive can run nothing: fail what is waiting rather than hang. */
  #onLocalHiveGone(why: string): void {
    if (!this.cfg.ephemeral || !this.sm.is('serving', 'starting')) return;
    if (this.registry.size === 0) this.scheduler.failAll({ code: 'NO_HIVES', message: `no hive left to run the task: ${why}` });
  }

  colony(): ColonyView {
    const hives = [...this.registry.sessions()].map((s) => s.view());
    let running = 0;
    for (const h of hives) running += h.inFlight;
    return {
      queen: { pid: process.pid, state: this.sm.state, ephemeral: this.cfg.ephemeral, startedAt: this.startedAt },
      hives,
      queued: this.scheduler.queued,
      running,
    };
  }

  /**
   * The cascade: refuse new work, tell every hive to stop (running tasks get the grace period), wait
   * for the hives this queen started, kill their trees if they overstay, then close the server.
   */
  stop(graceMs = this.cfg.graceMs): Promise<void> {
    this.#stopping ??= (async () => {
      this.sm.to('draining');
      this.registry.shutdownAll(graceMs);
      await this.#localHive?.stop(graceMs + 500);
      this.scheduler.failAll({ code: 'TASK_CANCELLED', message: 'the queen stopped before the task finished' });
      this.registry.close();
      this.#gateway?.close();
      await this.app.close();
      this.ledger.close();
      this.sm.to('stopped');
    })();
    return this.#stopping;
  }
}
