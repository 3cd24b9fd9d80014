import path from 'node:path';
import type { FrameInfo } from '@apiary/planner';
import type { Snapshot } from '../frames/catalog.js';
import { PlanCache } from './plan-cache.js';

export type CellChecksums = Record<string, { sha256: string; bytes: number }>;

/** What queries derive from one frame version: the planner's view of it, its plan-cache key and its cells' checksums. */
export interface FrameRead {
  /** Cells with absolute paths, sizes and statistics, and the columns: the plan task's catalog entry. */
  readonly info: FrameInfo;
  /** Names this version for PlanCache.key (a digest of `info`). */
  readonly key: string;
  /** sha256 and size of every cell by absolute path: remote hives verify what they fetch. */
  readonly checksums: Readonly<CellChecksums>;
}

/**
 * Derived once per frame version (issue 10): the catalog hands out the same frozen snapshot while
 * a version is current, so the mapping of its cells, the digest that keys its plans and its
 * checksums are computed at the first query that reads it, not at every query. Weakly held: a
 * version no longer current goes with its snapshot.
 */
export class FrameReads {
  readonly #reads = new WeakMap<Snapshot, FrameRead>();

  constructor(private readonly dataRoot: string) {}

  of(name: string, snap: Snapshot): FrameRead {
    let r = this.#reads.get(snap);
    if (r) return r;
    const abs = snap.cells.map((c) => path.join(this.dataRoot, c.path));
    const info: FrameInfo = {
      name,
      columns: snap.schema,
      cells: snap.cells.map((c, i) => ({ path: abs[i]!, bytes: c.bytes, rows: c.rows, stats: c.stats as never })),
    };
    const checksums: CellChecksums = {};
    snap.cells.forEach((c, i) => {
      checksums[abs[i]!] = { sha256: c.sha256, bytes: c.bytes };
    });
    r = { info, key: PlanCache.frameKey(info), checksums };
    this.#reads.set(snap, r);
    return r;
  }
}

/** The checksums of the cells a step reads (its views' files): what its spec carries, not the whole frames'. */
export function checksumsOf(views: Record<string, readonly string[]>, reads: readonly FrameRead[]): CellChecksums {
  const out: CellChecksums = {};
  for (const files of Object.values(views)) {
    for (const f of files) {
      for (const r of reads) {
        const c = r.checksums[f];
        if (c) {
          out[f] = c;
          break;
        }
      }
    }
  }
  return out;
}
