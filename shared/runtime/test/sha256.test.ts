import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Buffer, sha256BufferFallback, sha256Hex, sha256HexFallback } from '../src/sha256.js';

// One-shot crypto.hash where Node has it (>= 20.12), createHash on an older Node 20: both give the
// same digests, so a queen on any Node 20 accepts the same tokens and Idempotency-Key hashes.
describe('sha256', () => {
  const inputs = ['', 'token', 'añ€😀', 'x'.repeat(100_000)];
  it('the one-shot and fallback digests equal createHash', () => {
    for (const s of inputs) {
      const want = createHash('sha256').update(s).digest();
      expect(sha256Buffer(s).equals(want)).toBe(true);
      expect(sha256BufferFallback(s).equals(want)).toBe(true);
      expect(sha256Hex(s)).toBe(want.toString('hex'));
      expect(sha256HexFallback(s)).toBe(want.toString('hex'));
    }
  });
});
