import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@apiary/runtime';
import { makeTempRoot, reclaimTempRoots } from './temp-roots.js';

/**
 * Where frames live on the queen's machine:
 *   <root>/frames/<frame>/cells/<cell-id>.parquet      cells of recorded versions
 *   <root>/frames/<frame>/staging/<write-id>/t<n>/     a write in progress (one dir per task)
 * Cells are recorded by their path relative to the root, so a root can move with its catalog.
 */
export class DataRoot {
  private constructor(
    readonly dir: string,
    /** A temp root made for an ephemeral queen: removed when the queen stops. */
    readonly temporary: boolean,
  ) {}

  /** `dir` null: an ephemeral queen with nowhere better, so a temp dir (and the dead queens' are reclaimed). */
  static at(dir: string | null): DataRoot {
    if (dir) return new DataRoot(path.resolve(dir), false);
    reclaimTempRoots();
    return new DataRoot(makeTempRoot(), true);
  }

  frameDir(frame: string): string {
    return path.join(this.dir, 'frames', frame);
  }

  stagingDir(frame: string, writeId: string): string {
    return path.join(this.frameDir(frame), 'staging', writeId);
  }

  cellsDir(frame: string): string {
    return path.join(this.frameDir(frame), 'cells');
  }

  cellPath(frame: string, cellId: string): string {
    return `frames/${frame}/cells/${cellId}.parquet`;
  }

  abs(rel: string): string {
    return path.join(this.dir, rel);
  }

  async ensureCellsDir(frame: string): Promise<void> {
    await mkdir(this.cellsDir(frame), { recursive: true });
  }

  async removeFrame(frame: string): Promise<void> {
    await rm(this.frameDir(frame), { recursive: true, force: true });
  }

  /**
   * At queen start no write is in flight: every staging dir is a dead write's, and every cell file
   * the catalog does not know was moved in by a write that died before its commit.
   */
  async sweep(known: ReadonlySet<string>, log: Logger): Promise<void> {
    // Query partials and uploads only live while their request runs: anything here is a crash's leftover.
    for (const transient of ['queries', 'uploads']) await rm(path.join(this.dir, transient), { recursive: true, force: true });
    const framesDir = path.join(this.dir, 'frames');
    let frames: string[];
    try {
      frames = await readdir(framesDir);
    } catch {
      return; // no frames yet
    }
    let staged = 0;
    let strays = 0;
    for (const f of frames) {
      const staging = path.join(framesDir, f, 'staging');
      staged += (await readdir(staging).catch(() => [])).length;
      await rm(staging, { recursive: true, force: true });
      for (const c of await readdir(path.join(framesDir, f, 'cells')).catch(() => [] as string[])) {
        if (known.has(`frames/${f}/cells/${c}`)) continue;
        await rm(path.join(framesDir, f, 'cells', c), { recursive: true, force: true });
        strays++;
      }
      // A frame dir left with nothing in it (dropped, or its only write died) goes too.
      if ((await readdir(path.join(framesDir, f)).catch(() => ['?'])).every((e) => e === 'cells') && !hasKnown(known, f)) {
        await rm(path.join(framesDir, f), { recursive: true, force: true });
      }
    }
    if (staged + strays > 0) log.info(`data root sweep: removed ${staged} stale staging dir(s) and ${strays} unrecorded cell file(s)`, { dir: this.dir });
  }

  /** Remove a temporary root (ephemeral queen stopping). */
  async dispose(): Promise<void> {
    if (this.temporary) await rm(this.dir, { recursive: true, force: true });
  }
}

function hasKnown(known: ReadonlySet<string>, frame: string): boolean {
  const prefix = `frames/${frame}/`;
  for (const k of known) if (k.startsWith(prefix)) return true;
  return false;
}
