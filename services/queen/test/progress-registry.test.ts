import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_FOLLOWED, ProgressRegistry } from '../src/progress/progress-registry.js';
import { FALLBACK_POLL_MS, SpoolWatch } from '../src/query/spool-watch.js';

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

describe('SpoolWatch (fs.watch with a fallback poll)', () => {
  it('a change made before the wait is not lost (the wait returns at once); a change during it wakes it before the poll', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-spoolwatch-'));
    const w = new SpoolWatch(dir);
    try {
      const file = path.join(dir, 'result.ndjson');
      writeFileSync(file, '');
      // Let the creation's event pass, then start a read cycle.
      await w.wait();
      w.reading();
      appendFileSync(file, 'a\n');
      await waitUntilDirty(w);
      let t0 = performance.now();
      await w.wait();
      expect(performance.now() - t0, 'a change since reading() returns at once').toBeLessThan(FALLBACK_POLL_MS / 2);

      w.reading();
      t0 = performance.now();
      const waited = w.wait();
      setTimeout(() => appendFileSync(file, 'b\n'), 10);
      await waited;
      // Woken by the event, or at worst by the poll: never stuck.
      expect(performance.now() - t0).toBeLessThan(FALLBACK_POLL_MS * 4);
    } finally {
      w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no change at all, the wait ends after the fallback poll', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-spoolwatch-'));
    const w = new SpoolWatch(dir);
    try {
      w.reading();
      const t0 = performance.now();
      await w.wait();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(FALLBACK_POLL_MS - 5);
    } finally {
      w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** inotify delivers the event on a later turn of the loop: wait for it to have marked the watch (bounded). */
async function waitUntilDirty(w: SpoolWatch): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const t0 = performance.now();
    await Promise.race([w.wait(), new Promise((r) => setTimeout(r, 1))]);
    if (performance.now() - t0 < 1) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}
