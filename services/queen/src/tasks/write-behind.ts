import type { TaskRecord } from './ledger.js';

/** More pending updates than this are written at once rather than at the end of the window. */
export const MAX_PENDING = 1000;
/**
 * Updates wait this long to share one transaction. Each hive message arrives in its own event-loop
 * turn, so flushing per turn meant a commit (a dozen syscalls) per message; 5 ms batches them.
 * (CommitThenSend flushes sooner whenever a message waits for the commit.)
 */
export const FLUSH_WINDOW_MS = 5;

/**
 * The ledger's pending updates, coalesced per task (the newest record wins), and the timer that
 * writes them at the end of the window. What a write does is the ledger's; this only holds and times.
 */
export class WriteBehind {
  readonly #pending = new Map<string, TaskRecord>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly flush: () => void,
    private readonly windowMs = FLUSH_WINDOW_MS,
  ) {}

  get size(): number {
    return this.#pending.size;
  }

  get(id: string): TaskRecord | undefined {
    return this.#pending.get(id);
  }

  /** Queue an update; returns true when so many wait that the caller should write now. */
  add(rec: TaskRecord): boolean {
    this.#pending.set(rec.id, rec);
    if (this.#pending.size >= MAX_PENDING) return true;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, this.windowMs);
    return false;
  }

  /** Everything pending, in order, now no longer pending (the timer is cancelled). */
  take(): TaskRecord[] {
    this.cancelTimer();
    if (this.#pending.size === 0) return [];
    const recs = [...this.#pending.values()];
    this.#pending.clear();
    return recs;
  }

  /** A write failed: keep these pending, behind any newer update of the same task. */
  restore(recs: readonly TaskRecord[]): void {
    for (const r of recs) if (!this.#pending.has(r.id)) this.#pending.set(r.id, r);
  }

  cancelTimer(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  clear(): void {
    this.cancelTimer();
    this.#pending.clear();
  }
}
