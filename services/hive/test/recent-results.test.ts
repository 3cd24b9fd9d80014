import { describe, expect, it } from 'vitest';
import { RECENT_RESULTS_MAX, RECENT_RESULTS_MS, RecentResults, type ResultMessage } from '../src/recent-results.js';

const ok = (taskId: string, attempt = 1): ResultMessage => ({
  type: 'task.succeeded',
  taskId,
  attempt,
  bee: 0,
  durationMs: 1,
  beeState: 'idle',
  value: { kind: 'js', value: taskId },
});

describe('RecentResults', () => {
  it('answers by task and attempt, for RECENT_RESULTS_MS', () => {
    const r = new RecentResults();
    r.remember(ok('a', 1), 1000);
    expect(r.get('a', 1, 1000 + RECENT_RESULTS_MS)).toEqual(ok('a', 1));
    expect(r.get('a', 2, 1000)).toBeUndefined();
    expect(r.get('a', 1, 1001 + RECENT_RESULTS_MS)).toBeUndefined();
    expect(r.all(1001 + RECENT_RESULTS_MS)).toEqual([]);
  });

  it('keeps at most RECENT_RESULTS_MAX, dropping the oldest', () => {
    const r = new RecentResults();
    for (let i = 0; i <= RECENT_RESULTS_MAX; i++) r.remember(ok(`t${i}`), 1000);
    const all = r.all(1000);
    expect(all).toHaveLength(RECENT_RESULTS_MAX);
    expect(all[0]!.taskId).toBe('t1');
    expect(r.get('t0', 1, 1000)).toBeUndefined();
  });

  it('does not keep a cancellation: the task never ran, so a re-assignment must run it', () => {
    const r = new RecentResults();
    r.remember(
      { type: 'task.failed', taskId: 'c', attempt: 1, bee: -1, durationMs: 0, beeState: 'exited', error: { code: 'TASK_CANCELLED', message: 'x' } },
      1000,
    );
    r.remember(
      { type: 'task.failed', taskId: 'f', attempt: 1, bee: 0, durationMs: 5, beeState: 'idle', error: { code: 'TASK_FAILED', message: 'boom' } },
      1000,
    );
    expect(r.get('c', 1, 1000)).toBeUndefined();
    expect(r.get('f', 1, 1000)?.type).toBe('task.failed');
  });
});
