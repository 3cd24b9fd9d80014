import type { HiveResources } from '@apiary/protocol';

/** Bees per reported core the queen gives work for (a hive may run more bees than cores for I/O-bound work). */
export const MAX_BEES_PER_CORE = 4;
/** No hive gets work for more bees than this, whatever it reports (hive config allows 1–256). */
export const MAX_BEES_PER_HIVE = 256;

/**
 * How many bees the queen counts on for a hive: what its hello advertises, capped by its reported
 * cores and by a sane maximum, so a hive advertising 100,000 bees cannot capture the queue.
 */
export function beeCap(r: Pick<HiveResources, 'bees' | 'cores'>): number {
  return Math.max(1, Math.min(r.bees, r.cores * MAX_BEES_PER_CORE, MAX_BEES_PER_HIVE));
}
