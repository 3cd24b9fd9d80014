import { hexOf, randomView } from './random-pool.js';

/**
 * A new task id: a version 7 UUID (RFC 9562), 48 bits of Unix milliseconds then 74 random bits.
 * Ids made close in time sort together, so the ledger's id index and the attempts table (keyed by
 * task id) take a batch of new tasks on a few pages at the right edge of their B-trees, where random
 * (v4) ids wrote one leaf page each per commit. Still unguessable: 74 random bits.
 */
export function newTaskId(now = Date.now()): string {
  const r = randomView(10);
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (r[0]! & 0x0f); // version 7
  b[7] = r[1]!;
  b[8] = 0x80 | (r[2]! & 0x3f); // RFC 9562 variant
  r.copy(b, 9, 3, 10);
  const h = hexOf(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
