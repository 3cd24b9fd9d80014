import { hexOf, randomView } from './random-pool.js';

/**
 * An attempt token: `<queen epoch>.<attempt>.<random>`. It is recorded with the attempt (and
 * committed) before the assign leaves the queen; the hive echoes it in every report of that attempt.
 * The epoch makes tokens of different queen lifetimes distinct; the random part makes one hive
 * unable to guess another's (the queen also checks that the sender holds the attempt).
 */
export function attemptToken(epoch: number, attempt: number): string {
  return `${epoch}.${attempt}.${hexOf(randomView(6))}`;
}

/** The hive name of a recorded attempt's hive id (`<name>#<session>`): session numbers restart with the queen. */
export function hiveNameOf(hiveId: string): string {
  const i = hiveId.lastIndexOf('#');
  return i < 0 ? hiveId : hiveId.slice(0, i);
}
