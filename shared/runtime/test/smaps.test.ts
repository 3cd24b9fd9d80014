import { realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMemoryFields, parseSmaps, readSmapsMappings, readSmapsRollup, readStatusMemory, type SmapsRollup } from '../src/smaps.js';

const MiB = 1 << 20;
/** A pid no process has: above the largest pid_max Linux allows (2^22). */
const NO_SUCH_PID = 2 ** 22 + 1;
/** Two readings a moment apart of a steady process differ by less than this (the read's own garbage). */
const STEADY_BYTES = 2 * MiB;

/**
 * A reading taken between two rollups that agree: reads a moment apart may straddle a GC (which
 * frees an earlier test's block), so retry until the process was steady around the read.
 */
function steadyAround<T>(read: () => T | null): { rollup: SmapsRollup; value: T } {
  for (let i = 0; ; i++) {
    const rollup = readSmapsRollup(process.pid);
    const value = read();
    const again = readSmapsRollup(process.pid);
    if (!rollup || !again || value === null) throw new Error('no /proc reading of this process');
    if (Math.abs(again.pss - rollup.pss) < STEADY_BYTES || i === 20) return { rollup, value };
  }
}

describe('smaps parsing', () => {
  it('reads kB fields as bytes and passes over other lines', () => {
    const text = [
      '555635c7c000-7ffebb029000 ---p 00000000 00:00 0                          [rollup]',
      'Rss:                1740 kB',
      'Pss:                 217 kB',
      'Pss_Anon:            116 kB',
      'THPeligible:           0',
      'VmFlags: rd mr mw me ',
    ].join('\n');
    expect(parseMemoryFields(text)).toEqual({ Rss: 1740 * 1024, Pss: 217 * 1024, Pss_Anon: 116 * 1024 });
    expect(parseMemoryFields('VmRSS:\t   51200 kB\nThreads:\t7\n')).toEqual({ VmRSS: 50 * MiB });
  });

  it('splits smaps into mappings by header, names with spaces and anonymous ones included', () => {
    const text = [
      '55dbf0c6a000-55dbf0c6c000 r--p 00000000 fe:00 260386                     /usr/bin/head',
      'Rss:                   8 kB',
      'Pss:                   4 kB',
      '7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ',
      'Pss:                  12 kB',
      '7f0000002000-7f0000003000 rw-p 00000000 fe:00 12               /tmp/a b (deleted)',
      'Pss:                   1 kB',
    ].join('\n');
    expect(parseSmaps(text)).toEqual([
      { name: '/usr/bin/head', fields: { Rss: 8192, Pss: 4096 } },
      { name: '', fields: { Pss: 12 * 1024 } },
      { name: '/tmp/a b (deleted)', fields: { Pss: 1024 } },
    ]);
  });
});

describe('smaps readers on this process (real /proc)', () => {
  it('smaps_rollup: PSS and RSS are positive, PSS ≤ RSS, anon + file PSS make the PSS', () => {
    const r = readSmapsRollup(process.pid);
    expect(r).not.toBeNull();
    if (!r) return;
    expect(r.pss).toBeGreaterThan(0);
    expect(r.pss).toBeLessThanOrEqual(r.rss);
    expect(r.fields.Pss).toBe(r.pss);
    // Pss = Pss_Anon + Pss_File + Pss_Shmem (Linux ≥ 5.1; older kernels lack the split and read 0).
    if (r.pssAnon > 0) expect(r.pssAnon + r.pssFile + (r.fields.Pss_Shmem ?? 0)).toBe(r.pss);
  });

  it('64 MiB of touched memory shows in Anonymous, RSS and PSS', () => {
    const before = readSmapsRollup(process.pid);
    const block = Buffer.alloc(64 * MiB, 1); // filled, so every page is resident
    const after = readSmapsRollup(process.pid);
    expect(block[block.length - 1]).toBe(1);
    if (!before || !after) throw new Error('no smaps_rollup');
    // Other allocations may come and go between the reads; the block alone is 64 MiB.
    expect(after.anonymous - before.anonymous).toBeGreaterThan(48 * MiB);
    expect(after.rss - before.rss).toBeGreaterThan(48 * MiB);
    expect(after.pss - before.pss).toBeGreaterThan(48 * MiB);
  });

  it('the per-mapping PSS adds up to the rollup and names the node binary', () => {
    const { rollup, value: mappings } = steadyAround(() => readSmapsMappings(process.pid));
    const sum = mappings.reduce((s, m) => s + (m.fields.Pss ?? 0), 0);
    expect(Math.abs(sum - rollup.pss)).toBeLessThan(STEADY_BYTES);
    const node = realpathSync(process.execPath);
    expect(readSmapsMappings(process.pid)?.some((m) => m.name === node && (m.fields.Rss ?? 0) > 0)).toBe(true);
  });

  it('status: VmRSS is in bytes and near the rollup RSS', () => {
    const { rollup, value: status } = steadyAround(() => readStatusMemory(process.pid));
    expect(status.VmRSS).toBeGreaterThan(MiB);
    // VmRSS is kept in per-CPU counters that lag by a few pages; the rollup walks the page tables.
    expect(Math.abs((status.VmRSS ?? 0) - rollup.rss)).toBeLessThan(STEADY_BYTES);
  });

  it('a process that does not exist reads null', () => {
    expect(readSmapsRollup(NO_SUCH_PID)).toBeNull();
    expect(readSmapsMappings(NO_SUCH_PID)).toBeNull();
    expect(readStatusMemory(NO_SUCH_PID)).toBeNull();
  });
});
