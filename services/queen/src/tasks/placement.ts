import type { HiveSession } from '../hives/hive-session.js';
import type { TaskRecord } from './ledger.js';

/**
 * Where a task goes: the hive it has failed on least, then (fsql) the one already holding most of
 * its cells, then the one with most room. Null when no hive has room (or none can take it).
 */
export function pickHive(t: TaskRecord, hives: Iterable<HiveSession>): HiveSession | null {
  let best: HiveSession | null = null;
  let bestScore = Infinity;
  const cells = t.spec.kind === 'fsql' ? Object.values(t.spec.views).flat() : [];
  for (const h of hives) {
    if (h.free <= 0 || (t.onQueenFs && h.dataInPlace !== true)) continue;
    // Most tasks have no attempt yet: skip the scan.
    const tried = t.attempts.length === 0 ? 0 : t.attempts.filter((a) => a.hive === h.id).length;
    const held = cells.length === 0 ? 0 : h.dataInPlace === true ? cells.length : h.cachedCells.size > 0 ? cells.filter((c) => h.cachedCells.has(c)).length : 0;
    const score = tried * 1_000_000 - held * 1_000 - h.free;
    if (score < bestScore) {
      best = h;
      bestScore = score;
    }
  }
  return best;
}

/** Every connected hive has reported, and none reads the queen's filesystem (nobody left to wait for). */
export function noHiveSeesQueenFs(hives: Iterable<HiveSession>): boolean {
  let any = false;
  for (const h of hives) {
    any = true;
    if (h.dataInPlace !== false) return false;
  }
  return any;
}
