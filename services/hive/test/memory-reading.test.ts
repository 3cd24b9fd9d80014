import { createLogger, treeUsage } from '@apiary/runtime';
import { describe, expect, it } from 'vitest';
import { MemoryReading, ZERO_READINGS_INVALID } from '../src/memory-reading.js';

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger('test', (l) => lines.push(l)) };
}

describe('MemoryReading', () => {
  it('accepts a real reading of a live tree (this process, from /proc)', async () => {
    const { lines, log } = capture();
    const m = new MemoryReading(0, log);
    const u = (await treeUsage([process.pid])).get(process.pid)!;
    expect(u.rssBytes).toBeGreaterThan(0);
    expect(m.accept(u, process.pid)).toBe(true);
    expect(m.error).toBeNull();
    expect(lines).toEqual([]);
  });

  it('a live tree reading 0 bytes becomes MEMORY_READING_INVALID: logged once, shown until a real reading comes', async () => {
    const { lines, log } = capture();
    const m = new MemoryReading(3, log);
    const real = (await treeUsage([process.pid])).get(process.pid)!;
    // What qemu-user produced: the same live tree, every page counted as 0 bytes.
    const zero = { ...real, rssBytes: 0 };
    for (let i = 1; i < ZERO_READINGS_INVALID; i++) expect(m.accept(zero, process.pid)).toBe(false);
    expect(m.error).toBeNull();
    expect(m.accept(zero, process.pid)).toBe(false);
    expect(m.error?.code).toBe('MEMORY_READING_INVALID');
    expect(m.error?.message).toMatch(/bee 3 .* reads 0 bytes .* budget cannot be enforced/);
    m.accept(zero, process.pid);
    const errors = lines.filter((l) => l.includes(' error ') && l.includes('MEMORY_READING_INVALID'));
    expect(errors).toHaveLength(1);
    expect(m.accept(real, process.pid)).toBe(true);
    expect(m.error).toBeNull();
  });

  it('an empty tree (the bee already gone, its exit not yet seen) is neither used nor reported', () => {
    const { lines, log } = capture();
    const m = new MemoryReading(1, log);
    for (let i = 0; i < ZERO_READINGS_INVALID + 2; i++) expect(m.accept({ rssBytes: 0, cpuMs: 0, pids: [] }, 12345)).toBe(false);
    expect(m.error).toBeNull();
    expect(lines).toEqual([]);
  });
});
