import { ApiaryError } from '@apiary/protocol';
import type { HiveSession } from './hive-session.js';

/** How long a write or a query waits for a first hive (a queen that just started, a hive reconnecting). */
export const HIVE_WAIT_MS = 15_000;
const POLL_MS = 50;

/**
 * The connected hives, once there is at least one. A request that needs a hive waits a bounded
 * time for one rather than failing during a start-up race, and fails with NO_HIVES rather than
 * hanging when none comes (a daemon started with --no-local-hive and no hive joined).
 */
export async function waitForHives(hives: () => Iterable<HiveSession>, signal: AbortSignal, what: string, timeoutMs = HIVE_WAIT_MS): Promise<HiveSession[]> {
  const t0 = Date.now();
  let found = [...hives()];
  while (found.length === 0) {
    if (Date.now() - t0 > timeoutMs || signal.aborted) throw new ApiaryError('NO_HIVES', `no hive is connected to ${what} (waited ${Date.now() - t0} ms)`);
    await new Promise((r) => setTimeout(r, POLL_MS));
    found = [...hives()];
  }
  return found;
}
