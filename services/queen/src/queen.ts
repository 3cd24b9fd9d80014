import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { daemonPaths, type DaemonPaths, type QueenConfig } from '@apiary/config';
import { admit } from '@apiary/behaviours';
import { ApiaryError, type ColonyView, type TemperatureView } from '@apiary/protocol';
import { StateMachine, type Logger } from '@apiary/runtime';
import { HIVE_PATH, HiveGateway } from './hives/hive-gateway.js';
import { HiveRegistry } from './hives/hive-registry.js';
import { HIVE_MAX_PACKET_BYTES } from './hives/packet-limit.js';
import { FrameCatalog } from './frames/catalog.js';
import { FrameVacuum } from './frames/vacuum.js';
import { DataRoot } from './frames/data-root.js';
import { FrameWriter } from './frames/writer.js';
import { buildApp } from './http/app.js';
import { ColonyTemperature } from './colony-temperature.js';
import { LocalHive, HIVE_STOP_OVERSTAY_MS } from './local-hive.js';
import { QueryRunner } from './query/query-runner.js';
import { writeProbe } from './frames/probe.js';
import { MemoryNodeStore, type NodeStore } from './nodes/node-registry.js';
import { MemoryLedger, type TaskLedger } from './tasks/ledger.js';
import { Scheduler } from './tasks/scheduler.js';
import type { QueenTls } from './tls/queen-cert.js';
import { Idempotency } from './tasks/idempotency.js';
import { TokenStore } from './auth/token-store.js';
import { QueenMetrics } from './metrics/metrics.js';
import { MetricsListener } from './metrics/metrics-listener.js';
import { fileBytes } from './metrics/file-bytes.js';
import type { RetentionRunner } from './tasks/retention-runner.js';
import { MemoryOutputStore, TaskOutputs, type OutputStore } from './tasks/task-output.js';

/** How long a stopping queen reads the exited local hive's socket to its end (it is loopback: the data is there). */
const LOCAL_HIVE_SOCKET_WAIT_MS = 1000;

export type QueenState = 'starting' | 'serving' | 'draining' | 'stopped';

/**
 * The hive a queen starts on its own machine: a child process (LocalHive), or a hive hosted in the
 * same process (an ephemeral keeper's, see keeper/src/local-colony.ts). `pid` is the process it runs in.
 */
export interface LocalHiveHandle {
  start(queenWs: string, joinToken: string, fingerprint?: string): void;
  readonly pid: number | null;
  /** Wait up to waitMs for the hive to stop on its own (it was told to shut down), then force it. */
  stop(waitMs: number): Promise<void>;
}

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
  #localHive: LocalHiveHandle | null = null;
  /** Makes the local hive instead of a child process (an ephemeral keeper hosts it); onGone as LocalHive's. */
  readonly #makeLocalHive: ((onGone: (why: string) => void) => LocalHiveHandle) | undefined;
  /** Set when the queen serves https/wss (it listens beyond loopback). */
  readonly #tls: QueenTls | undefined;
  #stopping: Promise<void> | null = null;
  /** Recomputed only when its inputs change: every POST /v1/tasks asks it (admission). */
  readonly #temperature = new ColonyTemperature();
  #retention: RetentionRunner | null = null;
  /** What running and finished attempts printed (task output capture). */
  readonly outputs: TaskOutputs;
  readonly paths: DaemonPaths;
  readonly frames: { catalog: FrameCatalog; writer: FrameWriter; vacuum: FrameVacuum; root: DataRoot; dataRoot: string };
  url = '';
  readonly metrics: QueenMetrics;
  #metricsListener: MetricsListener | null = null;
  /** Where the tokenless metrics listener answers ('' when not asked for). */
  metricsUrl = '';

  constructor(
    readonly cfg: QueenConfig,
    private readonly log: Logger,
    deps: {
      tls?: QueenTls;
      ledger?: TaskLedger;
      nodes?: NodeStore;
      catalog?: FrameCatalog;
      tokens?: TokenStore;
      idempotency?: Idempotency;
      retention?: RetentionRunner;
      outputs?: OutputStore;
      localHive?: (onGone: (why: string) => void) => LocalHiveHandle;
    } = {},
  ) {
    this.sm = new StateMachine<QueenState>('queen', 'starting', QUEEN_TRANSITIONS, log);
    this.#tls = deps.tls;
    this.#makeLocalHive = deps.localHive;
    this.paths = daemonPaths(cfg.home);
    this.ledger = deps.ledger ?? new MemoryLedger();
    // Idempotency keys are recorded in the transaction that creates their tasks (tasks/idempotency.ts).
    const idempotency = deps.idempotency ?? Idempotency.memory();
    idempotency.attach(this.ledger);
    this.registry = new HiveRegistry(cfg.hiveTimeoutMs, cfg.heartbeatMs, log);
    this.scheduler = new Scheduler(this.ledger, () => this.registry.sessions(), { maxAttempts: 3 }, log);
    this.registry.attach(this.scheduler);
    this.outputs = new TaskOutputs(deps.outputs ?? new MemoryOutputStore());
    this.frames = this.#frames(deps.catalog ?? FrameCatalog.memory());
    this.metrics = new QueenMetrics(this.scheduler, {
      hives: () => [...this.registry.sessions()].map((s) => ({ name: s.resources.name, lastHeartbeatAt: s.lastHeartbeatAt, bees: s.bees })),
      queued: () => this.scheduler.queued,
      running: () => [...this.registry.sessions()].reduce((n, s) => n + s.inFlight.size, 0),
      temperature: () => this.temperature().value,
      ledgerBytes: () => (this.cfg.ephemeral ? 0 : fileBytes(this.paths.db) + fileBytes(`${this.paths.db}-wal`)),
      frames: () => this.frames.catalog.list(),
    });
    this.app = buildApp({
      tls: deps.tls,
      outputs: this.outputs,
      frames: this.frames,
      queries: new QueryRunner(this.scheduler, this.frames.catalog, this.registry, this.frames.dataRoot, this.frames.writer),
      clientToken: cfg.clientToken,
      joinToken: cfg.joinToken,
      // An ephemeral queen's scoped tokens live as long as it does.
      tokens: deps.tokens ?? TokenStore.memory(),
      idempotency,
      get: (id) => this.ledger.get(id),
      maxBodyBytes: cfg.maxBodyBytes,
      scheduler: this.scheduler,
      admit: () => this.#admit(),
      colony: () => this.colony(),
      health: () => ({ ok: this.sm.is('serving'), state: this.sm.state, pid: process.pid }),
      shutdown: (keepHives) => void this.stop(this.cfg.graceMs, { keepHives }),
      list: (q) => this.ledger.list(q),
      stopHive: (h, graceMs) => this.registry.stopOne(h, graceMs ?? this.cfg.graceMs),
      nodes: deps.nodes ?? new MemoryNodeStore(),
      metrics: this.metrics,
      log: log.child('http'),
      // An ephemeral queen's memory ledger lives as long as its one command: nothing to prune.
      prune: async (r) =>
        deps.retention
          ? deps.retention.run({ maxAgeMs: r.olderThanMs ?? deps.retention.policy.maxAgeMs, maxTasks: r.keep ?? deps.retention.policy.maxTasks })
          : { pruned: 0, durationMs: 0 },
    });
    this.#retention = deps.retention ?? null;
  }

  #frames(catalog: FrameCatalog) {
    const root = DataRoot.at(this.cfg.dataRoot);
    const vacuum = new FrameVacuum({ catalog, root, keep: this.cfg.keepVersions, log: this.log.child('frames') });
    const writer = new FrameWriter({
      scheduler: this.scheduler,
      catalog,
      root,
      hives: () => this.registry.sessions(),
      temperature: () => this.temperature(),
      accepting: () => {
        if (!this.sm.is('serving', 'starting')) throw new ApiaryError('QUEEN_DRAINING', 'the queen is shutting down and takes no new writes');
      },
      minCellBytes: this.cfg.minCellBytes,
      cellBytes: this.cfg.cellBytes,
      afterCommit: (frame) => vacuum.afterCommit(frame),
      log: this.log.child('frames'),
    });
    return { catalog, writer, vacuum, root, dataRoot: root.dir };
  }

  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (e) {
      // A queen that never served (its port in use, say) still owns its temp data root: an
      // ephemeral one's would stay in /tmp, since main() exits without stop().
      await this.frames.root.dispose().catch(() => undefined);
      throw e;
    }
  }

  async #start(): Promise<void> {
    // No write is in flight yet: whatever a dead write left in the data root goes now.
    await this.frames.root.sweep(this.frames.catalog.allCellPaths(), this.log);
    this.registry.setDataRoot(await writeProbe(this.frames.dataRoot));
    await this.app.listen({ host: this.cfg.host, port: this.cfg.port });
    const addr = this.app.server.address() as AddressInfo;
    // Local clients and the local hive dial the address we bound, or loopback when we bound every interface.
    const dial = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${this.#tls ? 'https' : 'http'}://${dial}:${addr.port}`;
    if (this.cfg.metrics) {
      this.#metricsListener = new MetricsListener(this.metrics);
      this.metricsUrl = await this.#metricsListener.listen(this.cfg.metrics.host, this.cfg.metrics.port);
      this.log.info(`metrics without a token at ${this.metricsUrl}`);
    }
    // stop() during the awaits above already ran its cascade: attaching a gateway or spawning a hive
    // now would outlive it (a daemon's local hive is detached), so stop() owns the rest.
    if (!this.sm.is('starting')) return;
    this.#gateway = new HiveGateway(
      this.app.server,
      this.cfg.joinToken,
      {
        onHello: (ws, hello) => {
          if (!this.sm.is('serving', 'starting')) return false;
          this.registry.onHello(ws, hello);
          return true;
        },
        onMessage: (ws, msg) => {
          // Output only from the hive holding that attempt; it is kept with the attempt when its result comes.
          if (msg.type === 'task.output') {
            if (this.registry.sessionOf(ws)?.inFlight.get(msg.taskId) === msg.attempt) this.outputs.append(msg);
            return;
          }
          this.registry.onMessage(ws, msg);
          if (msg.type === 'task.succeeded' || msg.type === 'task.failed') this.outputs.finish(msg.taskId, msg.attempt);
        },
        onClose: (ws, code) => this.registry.onClose(ws, code),
      },
      this.log,
      // Results arrive on this socket: room for large ones (each capped by its bee at MAX_RESULT_BYTES).
      HIVE_MAX_PACKET_BYTES,
    );
    if (this.cfg.localHive) {
      const mode = { ephemeral: this.cfg.ephemeral, pidFile: this.cfg.ephemeral ? undefined : this.paths.hivePidFile };
      const onGone = (why: string) => this.#onLocalHiveGone(why);
      this.#localHive = this.#makeLocalHive?.(onGone) ?? new LocalHive(this.cfg.localHive, mode, this.log, onGone);
      this.#localHive.start(`${this.#tls ? 'wss' : 'ws'}://${dial}:${addr.port}${HIVE_PATH}`, this.cfg.joinToken, this.#tls?.fingerprint);
    }
    // Reclaim window: the hive timeout plus the hives' longest reconnect backoff (5 s + 50 %).
    if (!this.cfg.ephemeral) {
      // A write's tasks are steered by the queen that started it: after a restart nobody would commit them.
      for (const t of this.ledger.nonTerminal()) {
        if (t.spec.kind === 'write') this.scheduler.cancel(t.id, 'the queen restarted during the write; write again');
        // A query's steps answer an HTTP request that died with the old queen: nobody would read them.
        else if (t.spec.kind === 'plan' || t.spec.kind === 'fsql') this.scheduler.cancel(t.id, 'the queen restarted during the query; run it again');
      }
      this.scheduler.recover(this.cfg.hiveTimeoutMs + 8000);
      this.#retention?.start();
    }
    this.sm.to('serving', this.url);
  }

  #admit(): void {
    if (!this.sm.is('serving', 'starting'))
      throw new ApiaryError('QUEEN_DRAINING', 'the queen is shutting down and takes no new work; retry against a running queen');
    const t = this.temperature();
    const a = admit('query', t.value);
    if (a.action === 'refuse') {
      throw new ApiaryError('COLONY_CRITICAL', `the colony is critical (temperature ${t.value.toFixed(2)}); retry in ${a.retryAfterMs} ms`, {
        retryAfterMs: a.retryAfterMs,
      });
    }
  }

  /** T from every bee's CPU and memory, the hosts' memory and the queue (queen's and hives'); see ColonyTemperature. */
  temperature(): TemperatureView {
    return this.#temperature.get(this.registry.sessions(), this.scheduler.queued);
  }

  /** An ephemeral queen without its hive can run nothing: fail what is waiting rather than hang. */
  #onLocalHiveGone(why: string): void {
    // Its only hive is gone (whether its socket close came before this or not): answer, don't hang.
    if (!this.cfg.ephemeral || !this.sm.is('serving', 'starting')) return;
    this.scheduler.failAll({ code: 'NO_HIVES', message: `no hive left to run the task: ${why}` });
  }

  colony(): ColonyView {
    const hives = [...this.registry.sessions()].map((s) => s.view());
    let running = 0;
    for (const h of hives) running += h.inFlight;
    return {
      queen: { pid: process.pid, state: this.sm.state, ephemeral: this.cfg.ephemeral, startedAt: this.startedAt },
      temperature: this.temperature(),
      hives,
      queued: this.scheduler.queued,
      running,
    };
  }

  /**
   * The cascade: refuse new work, tell the hives to stop (running tasks get the grace period), wait
   * for the hive this queen started, kill its tree if it overstays, then close the server.
   * keepHives: hives started separately are only disconnected; they keep their bees and reconnect later.
   */
  stop(graceMs = this.cfg.graceMs, opts: { keepHives?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      this.sm.to('draining');
      this.scheduler.drain();
      const local = this.#localHive?.pid ?? null;
      this.registry.shutdownAll(graceMs, opts.keepHives ? (s) => s.resources.pid === local : () => true);
      await this.#localHive?.stop(graceMs + HIVE_STOP_OVERSTAY_MS);
      // Its last results may still be unread on its socket when its exit is seen: read them first.
      if (local !== null) await this.registry.whenGone((s) => s.resources.pid === local, LOCAL_HIVE_SOCKET_WAIT_MS);
      // A daemon's ledger keeps unfinished tasks for the next start; an ephemeral one answers them now.
      if (this.cfg.ephemeral) this.scheduler.failAll({ code: 'TASK_CANCELLED', message: 'the queen stopped before the task finished' });
      this.registry.close();
      this.#gateway?.close();
      await this.#metricsListener?.close();
      await this.app.close();
      this.frames.catalog.close();
      this.#retention?.stop();
      this.ledger.close();
      await this.frames.root.dispose();
      this.sm.to('stopped');
    })();
    return this.#stopping;
  }
}
