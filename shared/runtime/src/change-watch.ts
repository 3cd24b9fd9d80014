import { type FSWatcher, watch } from 'node:fs';

/** A look at the path when no change event came: fs.watch can miss events (network filesystems, some containers). */
export const WATCH_FALLBACK_MS = 250;

export interface ChangeWatchOptions {
  /** How long a wait lasts without an event (default WATCH_FALLBACK_MS). */
  fallbackMs?: number;
}

/**
 * Wakes the reader of a growing file when the watched path (the file, or its directory) changes:
 * fs.watch (inotify on Linux), with a slow poll as the fallback, so a missed event or a path that
 * cannot be watched only costs latency. A change between the reader's `reading()` and its `wait()`
 * is not lost: it marks the watch dirty and the next wait returns at once.
 *
 * The reader's loop: `reading()`, read; on an empty read `await wait()`, then read again.
 */
export class ChangeWatch {
  readonly fallbackMs: number;
  #dirty = false;
  #closed = false;
  #wake: (() => void) | null = null;
  readonly #watcher: FSWatcher | null;

  constructor(target: string, opts: ChangeWatchOptions = {}) {
    this.fallbackMs = opts.fallbackMs ?? WATCH_FALLBACK_MS;
    let w: FSWatcher | null = null;
    try {
      w = watch(target, () => this.wake());
      w.on('error', () => undefined); // the fallback poll still runs
    } catch {
      w = null; // e.g. ENOENT or out of inotify watches: poll only
    }
    this.#watcher = w;
  }

  /** True when fs.watch is on; false when only the fallback poll runs. */
  get watching(): boolean {
    return this.#watcher !== null && !this.#closed;
  }

  /** Call before each read: changes after this point wake the next wait. */
  reading(): void {
    this.#dirty = false;
  }

  /** Mark a change by hand (e.g. the writer says it has finished): wakes a wait now or the next one. */
  wake(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Resolves on the next change since reading() (at once if there was one or the watch is closed), or after the fallback. */
  wait(): Promise<void> {
    if (this.#dirty || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.fallbackMs);
      this.#wake = done;
    });
  }

  /** Stop watching; a pending wait resolves, later ones return at once. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#wake?.();
  }
}
