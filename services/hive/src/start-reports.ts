import type { HiveToQueen } from '@apiary/protocol';

type TaskStarted = Extract<HiveToQueen, { type: 'task.started' }>;

/**
 * How long a `task.started` is held back. A tiny task's result comes well within it, and then the
 * start is never sent: the result implies it (the queen records the bee and the start from it), which
 * saves the queen and the hive a message per task. A task that runs longer is reported as started
 * this late: the queen's ledger writes a start within its own FLUSH_WINDOW_MS (5 ms) anyway, and its
 * deadline for a started attempt (timeout + ATTEMPT_GRACE_MS of 5 s) only moves by as much.
 */
export const START_HOLD_MS = 5;

/**
 * The hive's held `task.started` reports: one timer for all of them, so a stream of tiny tasks costs
 * no timer per task. Results settle their start (it is dropped); what is still held when the timer
 * fires is sent then, in order.
 */
export class StartReports {
  readonly #held = new Map<string, TaskStarted>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (m: TaskStarted) => void,
    private readonly holdMs = START_HOLD_MS,
  ) {}

  hold(m: TaskStarted): void {
    this.#held.set(m.taskId, m);
    this.#timer ??= setTimeout(() => this.flush(), this.holdMs);
  }

  /** The attempt's result is going out now: its start need not. True when one was held. */
  settle(taskId: string, attempt: number): boolean {
    const m = this.#held.get(taskId);
    if (!m || m.attempt !== attempt) return false;
    this.#held.delete(taskId);
    return true;
  }

  /** Send every held start now. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const m of held) this.send(m);
  }

  /** The link closed: held starts are stale (the next hello lists what the hive holds). */
  drop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#held.clear();
  }
}
