import type { TaskLimits, WireError } from '@apiary/protocol';
import type { HiveSession } from '../hives/hive-session.js';

/**
 * Past its timeout, an attempt gets this long for its hive to kill the bee and report TASK_TIMEOUT
 * (a kill, a report and a loaded machine's scheduling delays) before the queen reclaims it itself.
 */
export const ATTEMPT_GRACE_MS = 5000;
/** How often running attempts are checked against their deadline. */
export const ATTEMPT_CHECK_MS = 1000;
/** A hive's own default task timeout (hive-config.ts), for a hive that does not report one. */
export const DEFAULT_TASK_TIMEOUT_MS = 30_000;

/** The timeout the hive applies to this task: its own, else the hive's default, else the usual default. */
export function attemptTimeoutMs(limits: TaskLimits, hive: HiveSession): number {
  return limits.timeoutMs ?? hive.resources.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
}

/** What an attempt the queen reclaimed at its deadline failed with. */
export function overdueError(hive: HiveSession, timeoutMs: number): WireError {
  return {
    code: 'TASK_TIMEOUT',
    message: `hive ${hive.resources.name} did not report the attempt within its timeout (${timeoutMs} ms) plus ${ATTEMPT_GRACE_MS} ms; the queen reclaimed it`,
  };
}

interface Due {
  attempt: number;
  hive: HiveSession;
  timeoutMs: number;
  at: number;
  started: boolean;
}

/**
 * The queen's deadline per attempt, so a silent or lying hive cannot hold work forever. Until the hive
 * reports the start, the attempt may also be waiting behind depth − 1 tasks on its bee (the hive's
 * pipeline depth, see HiveSession.depth), each of which may run up to its own timeout: (depth − 1) ×
 * the longest timeout this hive has been given (its own included) + its timeout + grace from the
 * assign. From the first start report: timeout + grace (later start reports do not extend it).
 */
export class AttemptDeadlines {
  readonly #due = new Map<string, Due>();
  /** Per hive, the longest timeout it has been given: what a queued attempt may wait behind. */
  readonly #longest = new WeakMap<HiveSession, number>();

  assigned(taskId: string, attempt: number, hive: HiveSession, timeoutMs: number, now = Date.now()): void {
    const longest = Math.max(timeoutMs, this.#longest.get(hive) ?? 0);
    this.#longest.set(hive, longest);
    const ahead = (hive.depth - 1) * longest;
    this.#due.set(taskId, { attempt, hive, timeoutMs, at: now + ahead + timeoutMs + ATTEMPT_GRACE_MS, started: false });
  }

  started(taskId: string, attempt: number, now = Date.now()): void {
    const d = this.#due.get(taskId);
    if (!d || d.attempt !== attempt || d.started) return;
    d.started = true;
    d.at = now + d.timeoutMs + ATTEMPT_GRACE_MS;
  }

  end(taskId: string): void {
    this.#due.delete(taskId);
  }

  /** Attempts past their deadline (removed from the watch). */
  takeExpired(now = Date.now()): { taskId: string; attempt: number; hive: HiveSession; timeoutMs: number }[] {
    const out: { taskId: string; attempt: number; hive: HiveSession; timeoutMs: number }[] = [];
    for (const [taskId, d] of this.#due) {
      if (d.at > now) continue;
      this.#due.delete(taskId);
      out.push({ taskId, attempt: d.attempt, hive: d.hive, timeoutMs: d.timeoutMs });
    }
    return out;
  }
}
