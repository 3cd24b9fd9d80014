import * as earlyBee from '@apiary/hive/early-bee';
import * as earlyStart from './early-start.js';

/*
 * The early start's state handed to the rest of the keeper when that runs as keeper-main.cjs (a
 * separate bundle, code-cache.ts): the bundler (scripts/bundle.mjs, --cached) replaces every import
 * of early-start.js and of hive's early-bee.js in it with a read of this one globalThis slot, so the
 * hosted hive adopts the bee cli.ts forked and the session ends the early start cli.ts began.
 * The key and the two names are also written in bundle.mjs (HANDOVER).
 */
export const HANDOVER_KEY = 'apiary.keeper.handover';

export function handOver(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for(HANDOVER_KEY)] = { earlyStart, earlyBee };
}
