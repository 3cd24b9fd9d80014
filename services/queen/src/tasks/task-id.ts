import { hexOf, randomView } from './random-pool.js';

/** A clock step back smaller than this keeps the sequence going (ids stay in creation order). */
const MAX_BACKSTEP_MS = 10_000;

let lastMs = -1;
let counter = 0;

/**
 * A new task id: a version 7 UUID (RFC 9562), 48 bits of Unix milliseconds, a 12-bit counter
 * (RFC 9562 §6.2 method 1: seeded at random below 2048 each millisecond, +1 per id), then 62
 * random bits. Ids sort in creation order, also within one millisecond (a batch of 2,000 tasks
 * takes a few): the ledger's id index and the attempts table (keyed by task id) then take new
 * tasks and their attempts at the right edge of their B-trees. With the order left to the random
 * bits, the attempts of a batch landed on random leaf pages, each split by an insert in the middle
 * (issue 10: ~5 of the ~15 WAL pages per commit). Still unguessable: 62 random bits.
 */
export function newTaskId(now = Date.now()): string {
  const r = randomView(10);
  if (now > lastMs || lastMs - now > MAX_BACKSTEP_MS) {
    lastMs = now;
    counter = ((r[8]! << 8) | r[9]!) & 0x7ff;
  } else if (++counter > 0xfff) {
    // 4,096 ids in one millisecond: borrow the next one, so the order still holds.
    lastMs++;
    counter = ((r[8]! << 8) | r[9]!) & 0x7ff;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8); // version 7, counter's high 4 bits
  b[7] = counter & 0xff;
  b[8] = 0x80 | (r[0]! & 0x3f); // RFC 9562 variant
  r.copy(b, 9, 1, 8);
  const h = hexOf(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
