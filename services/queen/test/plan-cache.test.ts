import { describe, expect, it } from 'vitest';
import type { Catalog, RenderedPlan } from '@apiary/planner';
import { PlanCache, type PlanInputs } from '../src/query/plan-cache.js';

const catalog = (bytes: number): Catalog => [
  { name: 'f', columns: [{ name: 'x', type: 'INTEGER' }], cells: [{ path: '/d/frames/f/cells/a.parquet', bytes, rows: 1 }] },
];
const frames = (c: Catalog) => c.map(PlanCache.frameKey);
const inputs = (over: Partial<PlanInputs> = {}): PlanInputs => ({
  sql: 'SELECT count(*) FROM f',
  frames: frames(catalog(10)),
  bees: 2,
  targetBytesPerGroup: 100,
  ...over,
});
const plan = (explain: string) => ({ plan: { kind: 'whole' } as unknown as RenderedPlan, explain });

describe('PlanCache', () => {
  it('keys a plan by every input it depends on', () => {
    const base = PlanCache.key(inputs());
    expect(PlanCache.key(inputs())).toBe(base);
    for (const changed of [
      inputs({ sql: 'SELECT count(*) FROM f ' }),
      inputs({ frames: frames(catalog(11)) }), // another version: other cells, sizes or stats
      inputs({ bees: 3 }),
      inputs({ targetBytesPerGroup: 101 }),
    ]) {
      expect(PlanCache.key(changed)).not.toBe(base);
    }
  });

  it('keeps at most `max` plans, dropping the least recently used', () => {
    const c = new PlanCache(2);
    c.set('a', plan('a'));
    c.set('b', plan('b'));
    expect(c.get('a')?.explain).toBe('a'); // a is now the most recent
    c.set('c', plan('c'));
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')?.explain).toBe('a');
    expect(c.get('c')?.explain).toBe('c');
  });
});
