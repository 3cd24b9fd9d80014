import { describe, expect, it } from 'vitest';
import { MAX_FOLLOWED, ProgressRegistry } from '../src/progress/progress-registry.js';

describe('ProgressRegistry', () => {
  it('follows a request through its phases, keeps the count through unsized phases, forgets it at its end', () => {
    const reg = new ProgressRegistry();
    const { progress, end } = reg.begin('req-00001', 'query', 'read');
    expect(reg.get('req-00001').view).toMatchObject({ kind: 'query', phase: 'start', done: 0, total: 0, unit: 'cells' });
    progress.phase('map', { total: 10, unit: 'cells' });
    progress.advance(4, 4);
    progress.advance(9, 9); // never past the total
    progress.phase('merge');
    expect(reg.get('req-00001')).toMatchObject({ scope: 'read', view: { phase: 'merge', done: 10, total: 10, cells: 13 } });
    end();
    end(); // idempotent
    expect(() => reg.get('req-00001')).toThrow(expect.objectContaining({ code: 'PROGRESS_NOT_FOUND' }));
  });

  it('a reused id replaces the older entry, whose end then leaves the newer one alone', () => {
    const reg = new ProgressRegistry();
    const first = reg.begin('same-id-1', 'write', 'submit');
    reg.begin('same-id-1', 'query', 'read');
    first.end();
    expect(reg.get('same-id-1').view.kind).toBe('query');
  });

  it(`holds at most ${MAX_FOLLOWED} requests, forgetting the oldest first`, () => {
    const reg = new ProgressRegistry();
    for (let i = 0; i <= MAX_FOLLOWED; i++) reg.begin(`request-${i}`, 'query', 'read');
    expect(reg.size).toBe(MAX_FOLLOWED);
    expect(() => reg.get('request-0')).toThrow(expect.objectContaining({ code: 'PROGRESS_NOT_FOUND' }));
    expect(reg.get(`request-${MAX_FOLLOWED}`).view.id).toBe(`request-${MAX_FOLLOWED}`);
  });
});
