import type { ProgressView } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { describeProgress } from '../src/progress-line.js';

const view = (v: Partial<ProgressView>): ProgressView => ({
  id: 'x'.repeat(8),
  kind: 'query',
  phase: 'start',
  done: 0,
  total: 0,
  unit: 'cells',
  cells: 0,
  elapsed_ms: 1234,
  ...v,
});

describe('the progress line text', () => {
  it('names the phase, the count once it is known, a write’s cells, and the time', () => {
    expect(describeProgress('query', view({ phase: 'plan' }))).toBe('query: planning (1.2 s)');
    expect(describeProgress('query', view({ phase: 'map', done: 12, total: 40 }))).toBe('query: map 12/40 cells (1.2 s)');
    expect(describeProgress('query', view({ phase: 'merge', done: 40, total: 40, cells: 40 }))).toBe('query: merging 40/40 cells (1.2 s)');
    expect(describeProgress('query', view({ phase: 'merge' }))).toBe('query: running (1.2 s)');
    const w = { kind: 'write' as const, unit: 'files' as const };
    expect(describeProgress('write sales', view({ ...w, phase: 'write', done: 2, total: 4, cells: 7 }))).toBe(
      'write sales: writing 2/4 files, 7 cells (1.2 s)',
    );
    expect(describeProgress('write sales', view({ ...w, phase: 'commit', done: 4, total: 4, cells: 1 }))).toBe(
      'write sales: committing 4/4 files, 1 cell (1.2 s)',
    );
  });
});
