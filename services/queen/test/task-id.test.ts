import { describe, expect, it } from 'vitest';
import { attemptToken } from '../src/tasks/attempt-tokens.js';
import { newTaskId } from '../src/tasks/task-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('task ids', () => {
  it('are version 7 UUIDs whose first 48 bits are the creation time in ms', () => {
    const now = Date.UTC(2026, 11, 2, 1, 2, 3, 456);
    const id = newTaskId(now);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('sort by creation time (what keeps a batch of new tasks on a few B-tree pages) and never repeat', () => {
    const ids: string[] = [];
    for (let ms = 0; ms < 50; ms++) for (let i = 0; i < 200; i++) ids.push(newTaskId(1_700_000_000_000 + ms));
    expect(new Set(ids).size).toBe(ids.length);
    // Across milliseconds the order is the creation order; within one, the random bits decide.
    const firstOfEachMs = ids.filter((_, i) => i % 200 === 0);
    expect([...firstOfEachMs].sort()).toEqual(firstOfEachMs);
    const lastOfMs0 = ids.slice(0, 200).sort().at(-1)!;
    expect(lastOfMs0 < ids.slice(200, 400).sort()[0]!).toBe(true);
    // 74 random bits: ids of one millisecond differ beyond the time prefix.
    expect(new Set(ids.slice(0, 200).map((id) => id.slice(14))).size).toBe(200);
  });
});

describe('attempt tokens (random bytes from the same pool)', () => {
  it('are <epoch>.<attempt>.<12 hex> and do not repeat across pool refills', () => {
    // 10,000 tokens take 60,000 pool bytes: the 4 KiB pool is refilled many times over.
    const tokens = Array.from({ length: 10_000 }, () => attemptToken(7, 2));
    for (const t of tokens.slice(0, 10)) expect(t).toMatch(/^7\.2\.[0-9a-f]{12}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
