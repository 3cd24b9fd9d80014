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
  #clean = -1n;

  constructor(readonly dir: string) {
    this.#clean = stamp(dir);
  }

  /** Empty it if a task touched it; a failure is reported on stderr (the hive's log), never the task's. */
  async reset(): Promise<void> {
    if (this.#clean !== -1n && stamp(this.dir) === this.#clean) return;
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
  }
}

function stamp(dir: string): bigint {
  try {
    return statSync(dir, { bigint: true }).mtimeNs;
  } catch {
    return -1n;
  }
}
