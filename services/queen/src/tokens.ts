import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time token comparison: hash both sides so lengths never leak through timing. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
