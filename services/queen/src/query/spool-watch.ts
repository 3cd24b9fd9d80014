import { type FSWatcher, watch } from 'node:fs';

/** A look at the spool when no change event came: fs.watch can miss events (network filesystems, some containers). */
export const FALLBACK_POLL_MS = 250;

/**
 * Wakes the reader of a growing spool file when something in its directory changes (inotify on
 * Linux: the bee's writes, or a remote hive's PUT landing), with a slow poll as the fallback. A
 * change that comes between the reader's last read and its wait is not lost: it marks the watch
 * dirty, and the next wait returns at once.
 */
export class SpoolWatch {
  #dirty = false;
  #wake: (() => void) | null = null;
  readonly #watcher: FSWatcher | null;

  constructor(dir: string) {
    let w: FSWatcher | null = null;
    try {
      w = watch(dir, () => this.#changed());
      w.on('error', () => undefined); // the fallback poll still runs
    } catch {
      w = null;
    }
    this.#watcher = w;
  }

  #changed(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Call before each read: changes after this point wake the next wait. */
  reading(): void {
    this.#dirty = false;
  }

  /** Resolves on the next change since reading() (at once if there was one), or after the fallback poll. */
  wait(): Promise<void> {
    if (this.#dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, FALLBACK_POLL_MS);
      this.#wake = done;
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#wake?.();
  }
}
