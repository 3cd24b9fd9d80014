import type { WireError } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { type AttemptDeadlines, attemptTimeoutMs } from './attempt-deadlines.js';
import { hiveNameOf } from './attempt-tokens.js';
import type { TaskLedger } from './ledger.js';

/** How a hive names an attempt in its reports. */
export interface AttemptRef {
  taskId: string;
  attempt: number;
  token: string;
}

/** What recovery needs from the scheduler: the queue, the failure path and a pump. */
export interface RecoveryHost {
  requeue(taskId: string): void;
  attemptFailed(taskId: string, attempt: number, error: WireError, durationMs: number): void;
  pump(): void;
}

/**
 * After a queen restart: queued tasks go back in the queue; running ones wait for their hive to
 * rejoin and claim them. A hive that rejoins without one of its attempts lost it: that attempt
 * counts HIVE_LOST at once. Attempts of hives that do not rejoin within reclaimMs count HIVE_LOST then.
 */
export class Recovery {
  /** Running tasks (id → attempt and the name of the hive it was on) no hive has reclaimed yet. */
  readonly #unclaimed = new Map<string, { attempt: number; hive: string }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly hives: () => Iterable<HiveSession>,
    private readonly deadlines: AttemptDeadlines,
    private readonly host: RecoveryHost,
    private readonly log: Logger,
  ) {}

  recover(reclaimMs: number): void {
    let queued = 0;
    for (const t of this.ledger.nonTerminal()) {
      if (t.state === 'queued') {
        this.host.requeue(t.id);
        queued++;
      } else this.#unclaimed.set(t.id, { attempt: t.attempts.length, hive: hiveNameOf(t.attempts.at(-1)?.hive ?? '') });
    }
    if (this.#unclaimed.size > 0) {
      const hives = new Set([...this.#unclaimed.values()].map((u) => u.hive));
      this.log.info(`recovering: ${queued} queued, ${this.#unclaimed.size} running awaiting their hives (${[...hives].join(', ')})`);
      this.#timer = setTimeout(() => this.#expire(() => true, 'no hive reclaimed the task'), reclaimMs);
      this.#timer.unref();
    }
    this.host.pump();
  }

  #expire(which: (hiveName: string) => boolean, why: string): void {
    for (const [id, u] of this.#unclaimed) {
      if (!which(u.hive)) continue;
      this.#unclaimed.delete(id);
      this.host.attemptFailed(id, u.attempt, { code: 'HIVE_LOST', message: `the queen restarted and ${why}` }, 0);
    }
    if (this.#unclaimed.size === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.log.info('recovery done: every running task was reclaimed or re-queued');
    }
    this.host.pump();
  }

  /**
   * A hive (re)joined holding these attempts (running, queued, or finished with the result not yet
   * acknowledged). The current ones, with the recorded token, are its again; stale ones (the task was
   * re-dispatched or finished meanwhile, or the token is not the one recorded) are returned so the
   * hive can be told to drop them. Then the attempts a restarted queen was waiting for on a hive of
   * this name that it did not claim are lost: they count HIVE_LOST now, not after the reclaim window.
   */
  claim(hive: HiveSession, held: readonly AttemptRef[]): string[] {
    const stale: string[] = [];
    for (const { taskId, attempt, token } of held) {
      const t = this.ledger.get(taskId);
      const a = t?.attempts[attempt - 1];
      const elsewhere = [...this.hives()].some((h) => h !== hive && h.inFlight.has(taskId));
      if (t && a && t.state === 'running' && t.attempts.length === attempt && a.token === token && !elsewhere) {
        hive.inFlight.set(taskId, attempt);
        this.#unclaimed.delete(taskId);
        a.hive = hive.id;
        this.ledger.update(t);
        this.deadlines.assigned(taskId, attempt, hive, attemptTimeoutMs(t.limits, hive));
      } else {
        stale.push(taskId);
      }
    }
    if (this.#unclaimed.size > 0) this.#expire((name) => name === hive.resources.name, `hive ${hive.resources.name} rejoined without it`);
    return stale;
  }

  /** The task reached a terminal state otherwise (finished, cancelled): nothing to wait for. */
  settled(taskId: string): void {
    this.#unclaimed.delete(taskId);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
