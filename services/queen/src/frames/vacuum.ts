import { rm } from 'node:fs/promises';
import { checkFrameName, type FrameVacuumed, type VacuumResponse } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { FrameCatalog, Retired } from './catalog.js';
import type { DataRoot } from './data-root.js';

/**
 * Version GC: keep the last `keep` versions of a frame and delete the cells no kept version lists.
 * Runs after every commit (retention) and on demand (`keeper frames vacuum`). A version a running
 * query reads is pinned (catalog.pins): it stays, cells and all, until its last reader ends; then
 * it goes. The catalog forgets cells before their files go, so a crash in between leaves only
 * unrecorded files, which the data root sweep removes at the next start.
 */
export class FrameVacuum {
  constructor(private readonly d: { catalog: FrameCatalog; root: DataRoot; keep: number; log: Logger }) {
    d.catalog.pins.onUnpinned((frame, version) => {
      // Only a version already past the retention line has anything left to do.
      if (d.catalog.newerVersions(frame, version) < d.keep) return;
      void this.#one(frame).catch((e: unknown) => d.log.warn(`deferred vacuum of ${frame} failed: ${String(e)}`));
    });
  }

  get keep(): number {
    return this.d.keep;
  }

  /** Retention after a commit. Never throws: the version is recorded whatever happens to old files. */
  async afterCommit(frame: string): Promise<void> {
    await this.#one(frame).catch((e: unknown) => this.d.log.warn(`retention of ${frame} failed: ${String(e)}`));
  }

  /** Vacuum one frame (FRAME_NOT_FOUND if unknown) or, without a name, every frame. */
  async vacuum(frame?: string): Promise<VacuumResponse> {
    const names = frame === undefined ? this.d.catalog.names() : [checkFrameName(frame)];
    const frames: FrameVacuumed[] = [];
    for (const name of names) frames.push(await this.#one(name, frame !== undefined));
    return { keep: this.d.keep, frames };
  }

  async #one(frame: string, mustExist = false): Promise<FrameVacuumed> {
    let r: Retired;
    try {
      r = this.d.catalog.retire(frame, this.d.keep);
    } catch (e) {
      // Vacuuming every frame races drops: a frame gone since the list has nothing left to vacuum.
      if (mustExist || (e as { code?: string }).code !== 'FRAME_NOT_FOUND') throw e;
      return { frame, versions_removed: [], versions_deferred: [], cells_deleted: 0, bytes_freed: 0 };
    }
    await Promise.all(r.paths.map((rel) => rm(this.d.root.abs(rel), { force: true })));
    if (r.versions.length > 0) {
      this.d.log.info(`frame ${frame}: removed version(s) ${r.versions.join(', ')}, ${r.paths.length} cell file(s), ${r.bytes} bytes`, {
        deferred: r.deferred,
      });
    }
    return { frame, versions_removed: r.versions, versions_deferred: r.deferred, cells_deleted: r.paths.length, bytes_freed: r.bytes };
  }
}
