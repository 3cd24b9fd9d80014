import { describe, expect, it } from 'vitest';
import { collectWhenIdle } from '../src/idle-gc.js';

const MiB = 1024 * 1024;
const CHECK_MS = 100;
// A collection needs one quiet interval after the growth; on a loaded machine the timer and the
// collection itself can be late by seconds, so the wait is generous and only bounds a hang.
const WAIT_MS = CHECK_MS * 10 + 10_000;

/** Leaves ~`mb` MiB of unreachable objects in the heap. */
function makeGarbage(mb: number): number {
  let keep: number[][] = [];
  for (let i = 0; i < mb * 16; i++) keep.push(new Array(8192).fill(i)); // 8192 × 8 B = 64 KiB each
  const n = keep.length;
  keep = [];
  return n;
}

describe('collectWhenIdle', () => {
  it('collects the garbage a burst of work left once the process is quiet, and not again without new growth', async () => {
    const seen: { heapBefore: number; heapAfter: number }[] = [];
    let wake: (() => void) | undefined;
    const gc = collectWhenIdle({
      checkMs: CHECK_MS,
      growthBytes: 8 * MiB,
      onCollect: (e) => {
        seen.push(e);
        wake?.();
      },
    });
    try {
      const first = new Promise<void>((r) => (wake = r));
      expect(makeGarbage(48)).toBeGreaterThan(0);
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no collection within ${WAIT_MS} ms`)), WAIT_MS));
      await Promise.race([first, timeout]);
      const e = seen[0]!;
      // The heap shrank by at least the growth that triggered it: the dead arrays were given back.
      expect(e.heapAfter).toBeLessThan(e.heapBefore - 8 * MiB);
      // Quiet intervals with no new growth: nothing to do.
      const count = seen.length;
      await new Promise((r) => setTimeout(r, CHECK_MS * 5));
      expect(seen.length).toBe(count);
    } finally {
      gc.stop();
    }
  });

  it('calls onQuiet at each quiet interval, before judging the heap, and never while the process is busy', async () => {
    let quietCalls = 0;
    const quiet = collectWhenIdle({ checkMs: CHECK_MS, onQuiet: () => quietCalls++ });
    // quietCpu 0: no interval is ever quiet (any CPU use is >= 0), so the hook must never run.
    let busyCalls = 0;
    const busy = collectWhenIdle({ checkMs: CHECK_MS, quietCpu: 0, onQuiet: () => busyCalls++ });
    try {
      const deadline = Date.now() + WAIT_MS;
      // Called with no heap growth at all: dropping caches does not wait for a collection to be due.
      while (quietCalls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, CHECK_MS));
      expect(quietCalls).toBeGreaterThanOrEqual(2);
      expect(busyCalls).toBe(0);
    } finally {
      quiet.stop();
      busy.stop();
    }
  });
});
