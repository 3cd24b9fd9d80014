import type { SqlResponse, TaskLimits, TaskOutputEvent, TaskSpec, TaskView } from '@apiary/protocol';
import { onShutdownSignal, SIGNAL_EXIT } from '@apiary/runtime';
import type { ColonyFlags } from './args.js';
import { RemoteColony, type Colony } from './colony.js';
import { findQueen } from './discovery.js';
import { TaskFailedError } from './errors.js';
import { endEarlyStart, releaseEarlySignals } from './early-start.js';
import { onReaderGone } from './stdio-flush.js';
import { traceStart } from './start-trace.js';

/**
 * One keeper command's hold on a colony: a running queen if one is found (used, never stopped), else
 * an ephemeral colony of its own. It owns the keeper's signal handling: on Ctrl-C or SIGTERM it
 * cancels the tasks it submitted, tears down what it started and exits 130 (143 for SIGTERM).
 */
let interrupting: Promise<never> | null = null;

/** While the keeper is shutting down on a signal, errors from aborted calls are expected: wait for the exit. */
export function interruption(): Promise<never> | null {
  return interrupting;
}

export class Session {
  readonly #tasks = new Set<string>();
  readonly #ac = new AbortController();

  private constructor(readonly colony: Colony) {}

  static async open(flags: ColonyFlags): Promise<Session> {
    traceStart('command parsed');
    let session: Session | null = null;
    let pending: NodeJS.Signals | null = null;
    onShutdownSignal((sig) => {
      if (session) interrupting = session.#interrupt(sig);
      else pending = sig;
    });
    releaseEarlySignals();
    const target = flags.cluster ? null : findQueen(flags.queen);
    if (target && (flags.bees !== undefined || flags.memoryPerBeeBytes !== undefined)) {
      process.stderr.write(`keeper: using the queen at ${target.url} (${target.source}); --bees and --memory-per-bee are its hives' to decide\n`);
    }
    const colony: Colony = flags.cluster
      ? await (await import('./cluster/ephemeral-cluster.js')).ClusterColony.start({ ...flags, cluster: flags.cluster })
      : target
        ? // Loaded on use too: a one-shot run needs the client only once its queen listens (local-colony.ts).
          new RemoteColony(new (await import('./client.js')).QueenClient(target.url, target.token))
        : // Loaded on use: the queen and hive code hosted in-process is for one-shot runs only.
          await (await import('./local-colony.js')).LocalColony.start(flags);
    session = new Session(colony);
    // stdout's reader went away (`| head -1`): stop as on a signal, quietly, with the exit code given.
    onReaderGone((code) => {
      interrupting ??= (session as Session).#interrupt(null, code);
    });
    if (pending) {
      interrupting = session.#interrupt(pending);
      await interrupting;
    }
    return session;
  }

  /** A signal (sig), or stdout gone (null: nothing to say, and no reader to say it to). */
  async #interrupt(sig: NodeJS.Signals | null, code?: number): Promise<never> {
    if (sig) process.stderr.write(`\nkeeper: ${sig === 'SIGINT' ? 'interrupted' : sig}; cancelling and shutting down…\n`);
    this.#ac.abort();
    await Promise.allSettled([...this.#tasks].map((id) => this.colony.client.cancel(id)));
    await this.colony.stop();
    await endEarlyStart(); // a bee forked early that no hive adopted yet
    process.exit(code ?? SIGNAL_EXIT[sig as keyof typeof SIGNAL_EXIT] ?? 130);
  }

  /** Aborted when the keeper is interrupted: for calls other than run() (a frame write). */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** Run a task to its end; a failed one throws TaskFailedError. `onOutput` gets what it prints, live. */
  async run(spec: TaskSpec, limits: TaskLimits = {}, onOutput?: (e: TaskOutputEvent) => void): Promise<TaskView> {
    let id: string | null = null;
    try {
      const t = await this.colony.client.run(
        spec,
        limits,
        this.#ac.signal,
        (x) => {
          id = x;
          this.#tasks.add(x);
        },
        onOutput,
      );
      if (t.state !== 'succeeded') throw new TaskFailedError(t.error ?? { code: 'INTERNAL', message: `task ended ${t.state}` });
      return t;
    } finally {
      if (id) this.#tasks.delete(id);
    }
  }

  /** Run SQL through the queen's planner (frames or not); Ctrl-C aborts it (the queen cancels its tasks). */
  sql(sql: string, o: { explain?: boolean; limits?: TaskLimits; into?: string; intoMode?: 'append' | 'overwrite' } = {}): Promise<SqlResponse> {
    return this.colony.client.sql(sql, o, this.#ac.signal);
  }

  close(): Promise<void> {
    traceStart('command done, closing');
    return this.colony.stop();
  }
}
