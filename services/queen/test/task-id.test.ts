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

  it('sort in creation order, also within one millisecond, and never repeat', () => {
    // Within a millisecond a 12-bit counter keeps the order (a batch of new tasks lands at the right
    // edge of the id index and the attempts table); the random bits alone would shuffle it.
    const ids: string[] = [];
    for (let ms = 0; ms < 50; ms++) for (let i = 0; i < 200; i++) ids.push(newTaskId(1_800_000_000_000 + ms));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 5)) expect(id).toMatch(UUID_V7);
    // 62 random bits after the counter: ids of one millisecond differ there too.
    expect(new Set(ids.slice(0, 200).map((id) => id.slice(19))).size).toBe(200);
  });

  it('stay in order past 4,096 ids in one millisecond and across a small clock step back', () => {
    const t = 1_800_000_100_000;
    const ids = Array.from({ length: 10_000 }, () => newTaskId(t));
    ids.push(newTaskId(t - 5)); // the clock stepped back 5 ms
    ids.push(newTaskId(t + 10));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The time prefix moved on by at most the overflows (10,000 ids: at most 5 borrowed milliseconds).
    const msOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(msOf(ids[9_999]!) - t).toBeLessThanOrEqual(5);
    expect(msOf(ids.at(-1)!)).toBe(t + 10);
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
