import { statSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * The bee's scratch dir, emptied after every task that touched it, before its result goes out: the
 * next task may already be queued in the bee (the pipeline), so the hive cannot empty it between them.
 * The dir's mtime changes whenever an entry is added or removed in it: compared with the value seen
 * right after the last emptying, it skips a readdir per task (most tasks never touch scratch).
 */
export class Scratch {
  #clean = -1;
  /** A task started within a coarse tick of the last stamp: its changes may not move the mtime. */
  #unsure = false;

  constructor(readonly dir: string) {
    this.#clean = stamp(dir);
  }

  /**
   * Called as a task starts. On kernels before 6.13 a dir's mtime comes from a coarse clock (one tick:
   * up to 10 ms at HZ=100), so an entry added within the tick of the last stamp leaves the mtime as
   * it was; such a task's scratch is read after it instead of trusted. Tasks further apart pay nothing.
   */
  started(): void {
    if (Date.now() - this.#clean < COARSE_TICK_MARGIN_MS) this.#unsure = true;
  }

  /** Whether a task may have left something in it since it was last emptied. */
  touched(): boolean {
    return this.#unsure || this.#clean === -1 || stamp(this.dir) !== this.#clean;
  }

  /** Empty it; a failure is reported on stderr (the hive's log), never the task's. */
  async reset(): Promise<void> {
    try {
      const entries = await readdir(this.dir).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
        await mkdir(this.dir, { recursive: true });
        return [] as string[];
      });
      await Promise.all(entries.map((e) => rm(path.join(this.dir, e), { recursive: true, force: true })));
    } catch (e) {
      process.stderr.write(`apiary bee: cannot empty scratch ${this.dir}: ${(e as Error).message}\n`);
    }
    this.#clean = stamp(this.dir);
    this.#unsure = false;
  }
}

/** Two ticks of the coarsest kernel clock (HZ=100), so the coarse time surely moved past the stamp. */
const COARSE_TICK_MARGIN_MS = 20;

/**
 * The dir's mtime in ms (a double: sub-µs resolution, while an entry is added at least a task's start
 * after the last emptying). Not bigint: its BigIntStats cost a tiny task more than the stat itself.
 * Any change after the stamp was read shows: Linux (6.13+) gives a changed inode a fine-grained time
 * once its time was queried; on older kernels two changes within one clock tick share it (see started()).
 */
function stamp(dir: string): number {
  return statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}
