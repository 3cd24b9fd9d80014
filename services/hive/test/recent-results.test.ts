import { describe, expect, it } from 'vitest';
import { RECENT_RESULTS_MAX, RECENT_RESULTS_MS, RecentResults, UNACKED_RESULTS_MAX, type ResultMessage } from '../src/recent-results.js';

const ok = (taskId: string, attempt = 1, token = `1.${attempt}.aa`): ResultMessage => ({
  type: 'task.succeeded',
  taskId,
  attempt,
  token,
  bee: 0,
  durationMs: 1,
  beeState: 'idle',
  value: { kind: 'js', value: taskId },
});

describe('RecentResults', () => {
  it('keeps a result, whatever its age, until the queen acknowledges it', () => {
    const r = new RecentResults();
    r.remember(ok('a', 1), 1000);
    // An hour later with no ack (the queen was down): still there to resend.
    expect(r.unacked()).toEqual([ok('a', 1)]);
    expect(r.get('a', 1, '1.1.aa', 1000 + 3_600_000)).toEqual(ok('a', 1));
    r.ack('a', 1, '1.1.aa', 5000);
    expect(r.unacked()).toEqual([]);
  });

  it('ignores an ack with another token (an ack for another attempt of the same number)', () => {
    const r = new RecentResults();
    r.remember(ok('a', 1, '2.1.bb'), 1000);
    r.ack('a', 1, '1.1.aa', 1000);
    expect(r.unacked()).toHaveLength(1);
  });

  it('answers a repeated assignment of the very same attempt (same token) for RECENT_RESULTS_MS after the ack', () => {
    const r = new RecentResults();
    r.remember(ok('a', 1), 1000);
    r.ack('a', 1, '1.1.aa', 1000);
    expect(r.get('a', 1, '1.1.aa', 1000 + RECENT_RESULTS_MS)).toEqual(ok('a', 1));
    // Another token is another attempt (a later queen): it must run.
    expect(r.get('a', 1, '9.1.ff', 1000)).toBeUndefined();
    expect(r.get('a', 2, '1.1.aa', 1000)).toBeUndefined();
    expect(r.get('a', 1, '1.1.aa', 1001 + RECENT_RESULTS_MS)).toBeUndefined();
  });

  it('keeps at most RECENT_RESULTS_MAX acknowledged and UNACKED_RESULTS_MAX unacknowledged, dropping the oldest', () => {
    const r = new RecentResults();
    for (let i = 0; i <= RECENT_RESULTS_MAX; i++) {
      r.remember(ok(`t${i}`), 1000);
      r.ack(`t${i}`, 1, '1.1.aa', 1000);
    }
    expect(r.get('t0', 1, '1.1.aa', 1000)).toBeUndefined();
    expect(r.get('t1', 1, '1.1.aa', 1000)).toBeDefined();
    for (let i = 0; i <= UNACKED_RESULTS_MAX; i++) r.remember(ok(`u${i}`), 1000);
    const un = r.unacked();
    expect(un).toHaveLength(UNACKED_RESULTS_MAX);
    expect(un[0]!.taskId).toBe('u1');
  });

  it('does not keep a cancellation: the task never ran, so a re-assignment must run it', () => {
    const r = new RecentResults();
    const fail = (taskId: string, code: 'TASK_CANCELLED' | 'TASK_FAILED'): ResultMessage => ({
      type: 'task.failed',
      taskId,
      attempt: 1,
      token: '1.1.aa',
      bee: -1,
      durationMs: 0,
      beeState: 'exited',
      error: { code, message: 'x' },
    });
    r.remember(fail('c', 'TASK_CANCELLED'), 1000);
    r.remember(fail('f', 'TASK_FAILED'), 1000);
    expect(r.get('c', 1, '1.1.aa', 1000)).toBeUndefined();
    expect(r.get('f', 1, '1.1.aa', 1000)?.type).toBe('task.failed');
    expect(r.unacked().map((m) => m.taskId)).toEqual(['f']);
  });
});
