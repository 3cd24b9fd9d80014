import os from 'node:os';
import { parseSize } from './units.js';

/*
 * How many bees a hive runs and each one's memory budget, from the options (or the machine). A module
 * of its own, free of zod: a one-shot keeper sizes its first bee with it before any schema is loaded
 * (keeper/src/early-start.ts), and the hive's config (hive-config.ts) sizes every bee with it.
 */

/** Below this a bee cannot hold Node and DuckDB (≈120 MB idle RSS) plus any task. */
export const MIN_MEMORY_PER_BEE = 192 * 1024 * 1024;

export function defaultMemoryPerBee(bees: number, reserveBytes?: number): number {
  const total = os.totalmem();
  const reserve = reserveBytes ?? Math.max(512 * 1024 * 1024, Math.floor(total * 0.1));
  return Math.floor(Math.max(0, total - reserve) / bees);
}

export interface BeeSizingOptions {
  bees?: number;
  memoryPerBee?: string | number;
  /** Memory kept for the OS, the hive and the queen when the budget is derived. */
  reserveMemory?: string | number;
}

/** Bees and budget per bee, unchecked (the hive config's schema bounds them). */
export function beeSizing(o: BeeSizingOptions): { bees: number; memoryPerBeeBytes: number } {
  const reserve = o.reserveMemory === undefined ? undefined : parseSize(o.reserveMemory, 'reserve memory');
  let bees = o.bees ?? os.availableParallelism();
  // Neither given: on a small machine (a 1 GiB Pi with 4 cores) run fewer bees, each above the floor.
  if (o.bees === undefined && o.memoryPerBee === undefined) {
    while (bees > 1 && defaultMemoryPerBee(bees, reserve) < MIN_MEMORY_PER_BEE) bees--;
  }
  const memoryPerBeeBytes = o.memoryPerBee === undefined ? defaultMemoryPerBee(bees, reserve) : parseSize(o.memoryPerBee, 'memory per bee');
  return { bees, memoryPerBeeBytes };
}
