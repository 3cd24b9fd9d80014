import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeWatch, WATCH_FALLBACK_MS } from '../src/change-watch.js';

// A long fallback makes "woken by the event" and "woken by the poll" far apart, whatever the load:
// an event-woken wait must end well inside it, a poll-woken one not before it.
const FALLBACK_MS = 5_000;
/** Timers may fire a little early relative to performance.now() (ms rounding). */
const TIMER_SLACK_MS = 5;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-changewatch-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Active handles of a kind (FSEventWrap for fs.watch, Timeout for timers) in this process. */
const handles = (kind: string) => process.getActiveResourcesInfo().filter((k) => k === kind).length;

/** A closed watcher's handle goes a few turns of the loop later (libuv closes it asynchronously). */
async function closedWithin(cond: () => boolean, turns = 100): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await tick();
}

describe('ChangeWatch (fs.watch with a fallback poll)', () => {
  it('the default fallback is the documented 250 ms', () => {
    const w = new ChangeWatch(dir);
    try {
      expect(w.fallbackMs).toBe(WATCH_FALLBACK_MS);
      expect(WATCH_FALLBACK_MS).toBe(250);
      expect(w.watching).toBe(true);
    } finally {
      w.close();
    }
  });

  it('a write wakes a waiting reader long before the fallback', async () => {
    const file = path.join(dir, 'result.ndjson');
    writeFileSync(file, '');
    const w = new ChangeWatch(file, { fallbackMs: FALLBACK_MS });
    try {
      w.reading();
      const t0 = performance.now();
      const waited = w.wait();
      setTimeout(() => appendFileSync(file, 'a\n'), 10);
      await waited;
      expect(performance.now() - t0, 'woken by the event, not the poll').toBeLessThan(FALLBACK_MS / 2);
    } finally {
      w.close();
    }
  });

  it('a change between reading() and wait() is not lost: the wait returns at once', async () => {
    const w = new ChangeWatch(dir, { fallbackMs: FALLBACK_MS });
    try {
      w.reading();
      appendFileSync(path.join(dir, 'result.ndjson'), 'a\n');
      // inotify delivers the event on a later turn of the loop; the first wait may be the one it ends.
      await w.wait();
      // Nothing was read since: the mark stays until the next reading().
      const t0 = performance.now();
      await w.wait();
      expect(performance.now() - t0).toBeLessThan(FALLBACK_MS / 2);
    } finally {
      w.close();
    }
  });

  it('a change the watch never sees is still caught by the fallback poll', async () => {
    const fallbackMs = 300;
    // The reader's data is written somewhere the watch does not look: no event can come.
    const watched = path.join(dir, 'watched');
    const data = path.join(dir, 'elsewhere.ndjson');
    writeFileSync(watched, '');
    writeFileSync(data, '');
    const w = new ChangeWatch(watched, { fallbackMs });
    try {
      w.reading();
      const t0 = performance.now();
      const waited = w.wait();
      appendFileSync(data, 'a\n');
      await waited;
      expect(performance.now() - t0, 'not woken by the unseen write').toBeGreaterThanOrEqual(fallbackMs - TIMER_SLACK_MS);
    } finally {
      w.close();
    }
  });

  it('a path that cannot be watched falls back to polling alone', async () => {
    const fallbackMs = 100;
    const w = new ChangeWatch(path.join(dir, 'not-there'), { fallbackMs });
    try {
      expect(w.watching).toBe(false);
      w.reading();
      const t0 = performance.now();
      await w.wait();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(fallbackMs - TIMER_SLACK_MS);
    } finally {
      w.close();
    }
  });

  it('wake() by hand ends a wait at once (the writer has finished)', async () => {
    const w = new ChangeWatch(dir, { fallbackMs: FALLBACK_MS });
    try {
      w.reading();
      const t0 = performance.now();
      const waited = w.wait();
      setTimeout(() => w.wake(), 10);
      await waited;
      expect(performance.now() - t0).toBeLessThan(FALLBACK_MS / 2);
    } finally {
      w.close();
    }
  });

  it('close() ends a pending wait, removes the watcher and the timer, and later waits return at once', async () => {
    await closedWithin(() => handles('FSEventWrap') === 0); // other tests' watchers finish closing
    const watchersBefore = handles('FSEventWrap');
    const timersBefore = handles('Timeout');
    const w = new ChangeWatch(dir, { fallbackMs: FALLBACK_MS });
    w.reading();
    const waited = w.wait();
    expect(handles('FSEventWrap')).toBe(watchersBefore + 1);
    expect(handles('Timeout')).toBe(timersBefore + 1);
    const t0 = performance.now();
    w.close();
    await waited;
    expect(performance.now() - t0).toBeLessThan(FALLBACK_MS / 2);
    expect(w.watching).toBe(false);
    await closedWithin(() => handles('FSEventWrap') === watchersBefore);
    expect(handles('FSEventWrap'), 'the fs watcher is gone').toBe(watchersBefore);
    expect(handles('Timeout'), 'the fallback timer is gone').toBe(timersBefore);
    await w.wait();
    expect(handles('Timeout'), 'a wait after close sets no timer').toBe(timersBefore);
    w.close(); // idempotent
  });
});
