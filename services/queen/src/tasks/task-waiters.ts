import { ApiaryError, TERMINAL_STATES } from '@apiary/protocol';
import type { TaskLedger, TaskRecord } from './ledger.js';

export type TaskListener = (t: TaskRecord) => void;

/**
 * What can end a wait early: an AbortSignal, or anything with its two listener methods (the HTTP
 * routes pass a request-closed signal on the response's own 'close' event: an AbortController per
 * request cost ~15 µs on the lone-task path).
 */
export interface WaitSignal {
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Who is waiting for tasks: requests held until a task is terminal (wait, waitMany) and the
 * listeners of every state change (event streams). The scheduler tells it of each change.
 */
export class TaskWaiters {
  readonly #waiters = new Map<string, Set<TaskListener>>();
  readonly #listeners = new Set<TaskListener>();

  constructor(private readonly ledger: TaskLedger) {}

  /** Someone listens to changes (an event stream, the colony history). */
  get watched(): boolean {
    return this.#listeners.size > 0;
  }

  /** A task changed state: tell the listeners. */
  changed(t: TaskRecord): void {
    for (const l of this.#listeners) l(t);
  }

  /** A task is terminal: release whoever waits for it. */
  finished(t: TaskRecord): void {
    const ws = this.#waiters.get(t.id);
    if (!ws) return;
    this.#waiters.delete(t.id);
    for (const w of ws) w(t);
  }

  /** Resolve when the task is terminal, or with its current record after waitMs. */
  wait(taskId: string, waitMs: number, signal?: WaitSignal): Promise<TaskRecord> {
    const t = this.ledger.get(taskId);
    if (!t) return Promise.reject(new ApiaryError('TASK_NOT_FOUND', `no task ${taskId}`));
    if (TERMINAL_STATES.has(t.state) || waitMs <= 0) return Promise.resolve(t);
    return new Promise((resolve) => {
      let set = this.#waiters.get(taskId);
      if (!set) {
        set = new Set();
        this.#waiters.set(taskId, set);
      }
      const done = () => {
        clearTimeout(timer);
        set!.delete(w);
        if (set!.size === 0 && this.#waiters.get(taskId) === set) this.#waiters.delete(taskId);
        signal?.removeEventListener('abort', done);
        resolve(t);
      };
      const w: TaskListener = done;
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(w);
    });
  }

  /** Wait for many tasks: resolves when all are terminal or waitMs pass. */
  async waitMany(ids: readonly string[], waitMs: number, signal?: WaitSignal): Promise<TaskRecord[]> {
    const deadline = Date.now() + waitMs;
    const out: TaskRecord[] = [];
    for (const id of ids) out.push(await this.wait(id, Math.max(0, deadline - Date.now()), signal));
    return out;
  }

  /** Every task state change, for event streams. */
  onChange(l: TaskListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
}
