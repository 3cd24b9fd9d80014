import { QueenToHive } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { checkHotQueenToHive } from '../src/queen-hot.js';

const ref = { taskId: 't_1', attempt: 1, token: 'e1.1.abc' };
const assign = (over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  type: 'task.assign',
  ...ref,
  spec: { kind: 'js', module: '/m.mjs', ...spec },
  limits: {},
  ...over,
});

/** Messages the hot check takes: it must give exactly what the schema's parse gives. */
const valid: unknown[] = [
  assign(),
  assign({}, { export: 'noop', args: { i: 1, nested: [1, 'a', null] } }),
  assign({}, { args: null }),
  assign({ avoidBees: [0, 1], limits: { timeoutMs: 5000, maxAttempts: 3, retryUserErrors: true } }),
  assign({ extra: 'dropped', limits: { timeoutMs: 86_400_000, other: 1 } }, { extra: 1 }),
  { type: 'result.ack', ...ref, accepted: true },
  { type: 'result.ack', ...ref, accepted: false, extra: 1 },
];

/** Messages it must leave to the schema (undefined): invalid ones, and valid ones of other kinds. */
const passed: unknown[] = [
  assign({}, { module: '' }),
  assign({}, { export: '' }),
  assign({}, { kind: 'sql', sql: 'SELECT 1' }),
  assign({ limits: { timeoutMs: 0 } }),
  assign({ limits: { timeoutMs: 1.5 } }),
  assign({ limits: { maxAttempts: 21 } }),
  assign({ limits: { retryUserErrors: 'yes' } }),
  assign({ limits: undefined }),
  assign({ avoidBees: [0.5] }),
  assign({ attempt: 0 }),
  assign({ token: '' }),
  assign({ taskId: 'x'.repeat(129) }),
  { type: 'result.ack', ...ref },
  { type: 'task.cancel', taskId: 't_1' },
  { type: 'shutdown', graceMs: 0 },
  null,
  [assign()],
];

describe('checkHotQueenToHive', () => {
  it('gives what the QueenToHive parse gives for a js task.assign and a result.ack', () => {
    for (const m of valid) {
      const json = JSON.parse(JSON.stringify(m));
      expect(checkHotQueenToHive(json)).toEqual(QueenToHive.parse(JSON.parse(JSON.stringify(m))));
    }
  });

  it('leaves everything else to the schema', () => {
    for (const m of passed) expect(checkHotQueenToHive(m === undefined ? m : JSON.parse(JSON.stringify(m)))).toBeUndefined();
  });
});
