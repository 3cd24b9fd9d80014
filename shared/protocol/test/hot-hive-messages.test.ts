import { describe, expect, it } from 'vitest';
import { checkHotHiveToQueen, decodePacket, HiveToQueen } from '../src/index.js';

const ref = { taskId: 't1', attempt: 1, token: 'e.1.abc', bee: 0 };
const started = { type: 'task.started', ...ref, at: 5 };
const succeeded = { type: 'task.succeeded', ...ref, value: { kind: 'js', value: { n: [1, 'x'] } }, durationMs: 0.25, beeState: 'idle' };

/** Each a valid message with one field broken, or a shape the hot check leaves to zod. */
const variants: unknown[] = [
  started,
  succeeded,
  { ...succeeded, value: { kind: 'js', value: null } },
  { ...succeeded, value: { kind: 'js' } },
  { ...succeeded, value: { kind: 'js', value: 1, extra: true }, extra: 2 },
  { ...started, extra: 'dropped' },
  { ...started, taskId: '' },
  { ...started, taskId: 'x'.repeat(128) },
  { ...started, taskId: 'x'.repeat(129) },
  { ...started, attempt: 0 },
  { ...started, attempt: 1.5 },
  { ...started, attempt: '1' },
  { ...started, token: '' },
  { ...started, token: 't'.repeat(65) },
  { ...started, bee: -1 },
  { ...started, bee: 0.5 },
  { ...started, at: '5' },
  { ...started, at: undefined },
  { ...succeeded, durationMs: -1 },
  { ...succeeded, durationMs: '1' },
  { ...succeeded, beeState: 'sleeping' },
  { ...succeeded, beeState: 'exited' },
  { ...succeeded, value: { kind: 'sql', columns: [], rows: [] } },
  { ...succeeded, value: { kind: 'sql', columns: 'no', rows: [] } },
  { ...succeeded, value: null },
  { ...succeeded, value: [] },
  { type: 'task.failed', ...ref, error: { code: 'TASK_FAILED', message: 'm' }, durationMs: 1, beeState: 'idle' },
  { type: 'heartbeat', at: 1, bees: [], queued: 0, loadAvg: 0, freeMemoryBytes: 1 },
  [started],
  null,
  'task.started',
];

describe('checkHotHiveToQueen', () => {
  it('accepts exactly what HiveToQueen accepts among the hot messages, with the same output; the rest is left to zod', () => {
    let hot = 0;
    for (const v of variants) {
      const z = HiveToQueen.safeParse(v);
      const h = checkHotHiveToQueen(v);
      if (h !== undefined) {
        hot++;
        expect(z.success, JSON.stringify(v)).toBe(true);
        expect(JSON.stringify(h)).toBe(JSON.stringify(z.data));
      } else if (z.success) {
        // Left to zod although valid: only messages other than a started or a js success.
        const m = z.data as { type: string; value?: { kind: string } };
        expect(m.type === 'task.started' || (m.type === 'task.succeeded' && m.value?.kind === 'js'), JSON.stringify(v)).toBe(false);
      }
    }
    expect(hot).toBe(8);
  });

  it("a malformed hot message in a packet still gets zod's error", () => {
    const bad = { ...succeeded, beeState: 'sleeping' };
    expect(() => decodePacket(HiveToQueen, JSON.stringify([started, bad]), 'hive message', checkHotHiveToQueen)).toThrow(/invalid hive message at beeState/);
    expect(() => decodePacket(HiveToQueen, JSON.stringify({ ...started, attempt: 0 }), 'hive message', checkHotHiveToQueen)).toThrow(
      /invalid hive message at attempt/,
    );
    expect(decodePacket(HiveToQueen, JSON.stringify([started, succeeded]), 'hive message', checkHotHiveToQueen)).toEqual([started, succeeded]);
  });
});
