import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pageSizeBytes, pageSizeFromAuxv, readProcTable, validPageSize } from '../src/proc-table.js';

/** An auxiliary vector as the kernel lays it out: (type, value) pairs of native words, ending in AT_NULL. */
function auxv(pairs: [number, number][], word: 4 | 8): Buffer {
  const b = Buffer.alloc((pairs.length + 1) * 2 * word);
  [...pairs, [0, 0] as [number, number]].forEach(([t, v], i) => {
    if (word === 8) {
      b.writeBigUInt64LE(BigInt(t), i * 16);
      b.writeBigUInt64LE(BigInt(v), i * 16 + 8);
    } else {
      b.writeUInt32LE(t, i * 8);
      b.writeUInt32LE(v, i * 8 + 4);
    }
  });
  return b;
}

describe('page size', () => {
  it('is the one the system reports (getconf PAGESIZE), read from our auxiliary vector', () => {
    const system = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
    expect(pageSizeFromAuxv(readFileSync('/proc/self/auxv'), 8)).toBe(system);
    expect(pageSizeBytes()).toBe(system);
  });

  it('finds AT_PAGESZ among other entries in 64- and 32-bit vectors, and 0 when there is none', () => {
    // AT_PHDR (3), AT_PAGESZ (6), AT_HWCAP (16): the page size is not the first entry.
    expect(
      pageSizeFromAuxv(
        auxv(
          [
            [3, 0x400040],
            [6, 16384],
            [16, 0xff],
          ],
          8,
        ),
        8,
      ),
    ).toBe(16384);
    expect(
      pageSizeFromAuxv(
        auxv(
          [
            [3, 0x400040],
            [6, 65536],
          ],
          4,
        ),
        4,
      ),
    ).toBe(65536);
    expect(
      pageSizeFromAuxv(
        auxv(
          [
            [3, 0x400040],
            [16, 0xff],
          ],
          8,
        ),
        8,
      ),
    ).toBe(0);
    // Entries after AT_NULL are not read.
    const cut = Buffer.concat([auxv([[3, 1]], 8), auxv([[6, 4096]], 8)]);
    expect(pageSizeFromAuxv(cut, 8)).toBe(0);
  });

  it('refuses implausible page sizes: 0 (what qemu-user made of our own RSS), non-powers of two, absurd sizes', () => {
    for (const ok of [4096, 16384, 65536]) expect(validPageSize(ok)).toBe(true);
    for (const bad of [0, -4096, 4095, 3000, 512, 2 ** 21, Number.NaN]) expect(validPageSize(bad)).toBe(false);
  });
});

describe('readProcTable', () => {
  it("reads our own RSS as the kernel counts it (statm's resident pages times the page size), not 0", () => {
    const me = readProcTable().get(process.pid);
    expect(me).toBeDefined();
    // statm's second field and stat's rss field are the same kernel counter; they move between reads,
    // so compare with a tolerance of a few MiB of allocation in between.
    const statmPages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    const slack = 8 * 1024 * 1024;
    expect(me!.rssBytes).toBeGreaterThan(0);
    expect(Math.abs(me!.rssBytes - statmPages * pageSizeBytes())).toBeLessThan(slack);
  });
});
