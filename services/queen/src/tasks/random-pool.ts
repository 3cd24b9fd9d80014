import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for ids and tokens on the task path, drawn from a pool refilled 4 KiB at a time (as
 * randomUUID does): one call into the CSPRNG per ~400 tasks rather than one or two per task.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** n (≤ 64) fresh random bytes; a view valid until the next call. */
export function randomView(n: number): Buffer {
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const r = pool.subarray(used, used + n);
  used += n;
  return r;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of the bytes (no Buffer.toString call per byte run). */
export function hexOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
