import type { HiveConfig } from '@apiary/config';
import { CloseCodes, type QueenToHive } from '@apiary/protocol';
import { StateMachine, type Logger } from '@apiary/runtime';
import { BeePool } from './bee-pool.js';
import type { Job, Outcome } from './chamber.js';
import { backoffMs, QueenLink } from './queen-link.js';
import { hiveResources } from './resources.js';
import os from 'node:os';
import { toWireError, type WireError } from '@apiary/protocol';
import { Heartbeat } from './heartbeat.js';
import { HiveData } from './hive-data.js';
import { RecentResults, type ResultMessage } from './recent-results.js';
import { StartReports } from './start-reports.js';
import { checkTaskPaths } from './task-paths.js';

export type HiveState = 'starting' | 'connecting' | 'ready' | 'reconnecting' | 'stopping' | 'stopped';

const HIVE_TRANSITIONS: Record<HiveState, readonly HiveState[]> = {
  starting: ['connecting', 'stopping'],
  connecting: ['ready', 'reconnecting', 'stopping'],
  ready: ['reconnecting', 'stopping'],
  reconnecting: ['connecting', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
};

/** How long a hive waits for `welcome` after its socket opens. */
const WELCOME_TIMEOUT_MS = 5000;

/**
 * A hive: one per machine. Owns its bee pool and its link to the queen. Ephemeral hives stop when
 * the link closes (the queen is gone); persistent ones keep their bees and reconnect with backoff.
 */
export class Hive {
  readonly sm: StateMachine<HiveState>;
  readonly pool: BeePool;
  readonly #link: QueenLink;
  readonly #heartbeat = new Heartbeat(() => this.#beat());
  #welcomeTimer: NodeJS.Timeout | null = null;
  #reconnects = 0;
  /** Results of a persistent hive: kept until the queen acknowledges them, resent after every welcome. */
  readonly #recent = new RecentResults();
  /** Starts held back briefly: a tiny task's result implies its start (see StartReports). */
  readonly #starts = new StartReports((m) => this.#link.send(m));
  #exitCode = 0;
  /** The queen's data root: read in place, or its cells fetched (HiveData). */
  readonly #data: HiveData;
  #stopped: Promise<number> | null = null;
  #resolveDone!: (code: number) => void;
  /** Resolves with the process exit code once the hive has stopped, whoever stopped it. */
  readonly done = new Promise<number>((r) => (this.#resolveDone = r));

  constructor(
    readonly cfg: HiveConfig,
    private readonly log: Logger,
  ) {
    this.sm = new StateMachine<HiveState>('hive', 'starting', HIVE_TRANSITIONS, log);
    this.pool = new BeePool(
      cfg,
      {
        started: (j, b) => this.#onStarted(j, b),
        finished: (j, b, o, d) => this.#onFinished(j, b, o, d),
        // A bee came up or went: worth telling the queen now rather than at the next beat.
        beeLifecycle: () => this.sm.is('ready') && this.#heartbeat.soon(),
        // Live output is worth nothing later: not kept for a reconnect like results are.
        output: (j, chunks, cut) => void this.#link.send({ type: 'task.output', taskId: j.taskId, attempt: j.attempt, chunks, cut }),
      },
      log,
    );
    this.#link = new QueenLink(
      cfg.queenUrl,
      {
        onOpen: () => this.#hello(),
        onMessage: (m) => this.#onMessage(m),
        onClose: (code, reason) => this.#onClose(code, reason),
      },
      log,
      cfg.queenFingerprint,
    );
    this.#data = new HiveData(
      cfg,
      log,
      (j) => this.pool.submit(j),
      (j, e) => this.#failBeforeBee(j, e),
    );
  }

  /** Fork the bees and connect to the queen at the same time: both take a few hundred ms. */
  async start(): Promise<void> {
    // Info level tells a healthy hive's story in its log (`keeper cluster logs HOST`): start, join, bees, exits.
    this.log.info('hive starting', { name: this.cfg.name, queen: this.cfg.queenUrl, bees: this.cfg.bees });
    this.sm.to('connecting');
    this.#link.connect();
    await this.pool.start();
  }

  #hello(): void {
    // What this hive holds: attempts still running or queued, and results not yet acknowledged (resent after welcome).
    const running = this.pool.held().map((j) => ({ taskId: j.taskId, attempt: j.attempt, token: j.token }));
    for (const m of this.#recent.unacked()) running.push({ taskId: m.taskId, attempt: m.attempt, token: m.token });
    this.#link.send({ type: 'hello', protocol: 1, token: this.cfg.joinToken, hive: hiveResources(this.cfg), running });
    this.#welcomeTimer = setTimeout(() => {
      this.log.warn('no welcome from the queen; reconnecting');
      this.#link.close(CloseCodes.BAD_MESSAGE, 'no welcome');
    }, WELCOME_TIMEOUT_MS);
  }

  #onMessage(msg: QueenToHive): void {
    switch (msg.type) {
      case 'welcome':
        if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
        if (!this.sm.is('connecting')) return; // stopping already: a late welcome changes nothing
        this.#data.use(msg.data);
        this.log.info(this.#reconnects > 0 ? 'rejoined the queen' : 'joined the queen', { queen: this.cfg.queenUrl, hiveId: msg.hiveId });
        this.#reconnects = 0;
        this.sm.to('ready', `hive id ${msg.hiveId}`);
        this.#heartbeat.start(msg.heartbeatMs);
        for (const m of this.#recent.unacked()) this.#link.send(m);
        return;
      case 'task.assign': {
        // This very attempt already ran here: a restarted queen lost its record of assigning it.
        const done = this.#recent.get(msg.taskId, msg.attempt, msg.token);
        if (done) {
          this.log.info(`task ${msg.taskId} attempt ${msg.attempt} already ran here; sending its result again`);
          this.#send(done);
          return;
        }
        const job = { taskId: msg.taskId, attempt: msg.attempt, token: msg.token, spec: msg.spec, limits: msg.limits, avoidBees: msg.avoidBees };
        try {
          checkTaskPaths(job.spec, this.#data.root);
        } catch (e) {
          this.log.warn(`task ${job.taskId}: ${(e as Error).message}`);
          this.#failBeforeBee(job, toWireError(e, 'BAD_REQUEST'));
          return;
        }
        this.#data.route(job);
        return;
      }
      case 'task.cancel':
        this.pool.cancel(msg.taskId);
        return;
      case 'result.ack':
        this.#recent.ack(msg.taskId, msg.attempt, msg.token);
        return;
      case 'shutdown':
        void this.stop(msg.graceMs);
        return;
      case 'error':
        this.log.error(`queen: ${msg.error.code}: ${msg.error.message}`);
        if (msg.error.code === 'AUTH_FAILED') this.#exitCode = 1;
        return;
    }
  }

  #onClose(code: number, reason: string): void {
    // Messages of a frame that never went out: results are kept unacknowledged in #recent (and resent
    // after the next welcome); heartbeats and starts are stale by then.
    this.#link.takeUnsent();
    this.#starts.drop();
    this.#heartbeat.stop();
    if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
    if (this.sm.is('stopping', 'stopped')) return;
    if (code === CloseCodes.AUTH_FAILED) {
      this.log.error('the queen rejected the join token: check APIARY_JOIN_TOKEN or --token-file');
      this.#exitCode = 1;
      void this.stop(0);
      return;
    }
    if (this.cfg.ephemeral) {
      this.log.info(`queen connection closed (${code} ${reason}); ephemeral hive stopping`);
      void this.stop(0);
      return;
    }
    this.sm.to('reconnecting', `closed ${code}`);
    const delay = backoffMs(this.#reconnects++);
    this.log.info(`queen connection closed (${code}); reconnecting in ${delay} ms`);
    setTimeout(() => {
      if (!this.sm.is('reconnecting')) return;
      this.sm.to('connecting');
      this.#link.connect();
    }, delay);
  }

  #beat(): void {
    this.#link.send({
      type: 'heartbeat',
      at: Date.now(),
      bees: this.pool.status(),
      queued: this.pool.queued,
      loadAvg: os.loadavg()[0] ?? 0,
      freeMemoryBytes: os.freemem(),
      ...this.#data.beat(),
    });
  }

  /** A result goes out now if connected; a persistent hive also keeps it until the queen acknowledges it. */
  #send(m: ResultMessage): void {
    if (!this.cfg.ephemeral) this.#recent.remember(m);
    this.#link.send(m);
  }

  #onStarted(job: Job, bee: number): void {
    if (!this.#link.open) return; // stale by the time a link is up again: the hello lists what runs
    this.#starts.hold({ type: 'task.started', taskId: job.taskId, attempt: job.attempt, token: job.token, bee, at: Date.now() });
  }

  /** A task that fails before any bee takes it (bee -1): its paths were refused or its cells unreachable. */
  #failBeforeBee(job: { taskId: string; attempt: number; token: string }, error: WireError): void {
    this.#send({ type: 'task.failed', taskId: job.taskId, attempt: job.attempt, token: job.token, bee: -1, durationMs: 0, beeState: 'idle', error });
  }

  #onFinished(job: Job, bee: number, o: Outcome, durationMs: number): void {
    const remote = this.#data.finish(job, o);
    if (remote) void remote.then((outcome) => this.#report(job, bee, outcome, durationMs));
    else this.#report(job, bee, o, durationMs);
  }

  #report(job: Job, bee: number, o: Outcome, durationMs: number): void {
    this.#starts.settle(job.taskId, job.attempt);
    const beeState = this.pool.chambers[bee]?.sm.state ?? 'exited';
    const ref = { taskId: job.taskId, attempt: job.attempt, token: job.token, bee, durationMs, beeState };
    const msg: ResultMessage = o.ok ? { type: 'task.succeeded', ...ref, value: o.value } : { type: 'task.failed', ...ref, error: o.error };
    this.#send(msg);
  }

  /** Stop once: running tasks get graceMs, then every bee tree is killed and scratch removed. */
  stop(graceMs: number): Promise<number> {
    this.#stopped ??= (async () => {
      this.log.info('hive stopping', { graceMs });
      this.sm.to('stopping');
      await this.pool.stop(graceMs);
      this.#starts.drop();
      this.#heartbeat.stop();
      this.#link.close(CloseCodes.SHUTDOWN, 'hive stopped');
      this.sm.to('stopped');
      this.#resolveDone(this.#exitCode);
      return this.#exitCode;
    })();
    return this.#stopped;
  }
}
