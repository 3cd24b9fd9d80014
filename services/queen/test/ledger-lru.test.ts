import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { Lru } from '../src/tasks/ledger-lru.js';

const rec = (id: string) => ({ id }) as TaskRecord;
const keys = (l: Lru, ids: string[]) => ids.filter((id) => l.peek(id) !== undefined);

describe('the finished-task cache (Lru)', () => {
  it('evicts the least recently used entry; get() refreshes, peek() does not', () => {
    const l = new Lru(3, Number.POSITIVE_INFINITY);
    for (const id of ['a', 'b', 'c']) l.set(id, rec(id), 1);
    expect(l.get('a')?.id).toBe('a'); // order now b, c, a
    l.peek('b');
    l.set('d', rec('d'), 1); // b goes
    expect(keys(l, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    l.set('e', rec('e'), 1); // c goes
    l.get('a'); // order d, e, a
    l.set('f', rec('f'), 1); // d goes
    expect(keys(l, ['a', 'b', 'c', 'd', 'e', 'f'])).toEqual(['a', 'e', 'f']);
    expect(l.size).toBe(3);
  });

  it('keeps exactly the newest entries through many evictions, refreshes and deletes in between', () => {
    // The eviction iterator outlives V8's Map compactions and the refreshes that move entries behind it.
    const n = 100;
    const l = new Lru(n, Number.POSITIVE_INFINITY);
    const model: string[] = []; // oldest first
    for (let i = 0; i < 20_000; i++) {
      const id = `t${i}`;
      l.set(id, rec(id), 1);
      model.push(id);
      while (model.length > n) model.shift();
      if (i % 7 === 0) {
        // refresh an entry from the older half
        const old = model[Math.floor(model.length / 3)]!;
        expect(l.get(old)?.id).toBe(old);
        model.splice(model.indexOf(old), 1);
        model.push(old);
      }
      if (i % 11 === 0) {
        const gone = model.splice(Math.floor(model.length / 2), 1)[0]!;
        l.delete(gone);
      }
      expect(l.size).toBe(model.length);
    }
    expect(keys(l, model)).toEqual(model);
  });

  it('also bounds the bytes, oldest first; an entry bigger than the bound does not stay', () => {
    const l = new Lru(1000, 100);
    l.set('a', rec('a'), 40);
    l.set('b', rec('b'), 40);
    l.set('c', rec('c'), 40); // 120 > 100: a goes
    expect(keys(l, ['a', 'b', 'c'])).toEqual(['b', 'c']);
    l.set('big', rec('big'), 500);
    expect(l.size).toBe(0);
    // Still works after it emptied itself, and after clear().
    l.set('d', rec('d'), 60);
    l.clear();
    for (const id of ['e', 'f', 'g']) l.set(id, rec(id), 40);
    expect(keys(l, ['d', 'e', 'f', 'g'])).toEqual(['f', 'g']);
  });
});
