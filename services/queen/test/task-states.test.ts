import { createLogger, type Logger } from '@apiary/runtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { moveTask } from '../src/tasks/task-states.js';

/** Tasks move through the transition table, like the queen, hive and bee; each move is logged at debug. */
let lines: string[];
let log: Logger;
let level: string | undefined;

beforeEach(() => {
  level = process.env.APIARY_LOG_LEVEL;
  process.env.APIARY_LOG_LEVEL = 'debug';
  lines = [];
  log = createLogger('test', (l) => lines.push(l));
});
afterEach(() => {
  if (level === undefined) delete process.env.APIARY_LOG_LEVEL;
  else process.env.APIARY_LOG_LEVEL = level;
});

const task = (): TaskRecord => ({
  id: 't-1',
  spec: { kind: 'sql', sql: 'SELECT 1' },
  limits: {},
  state: 'queued',
  createdAt: 0,
  finishedAt: null,
  maxAttempts: 3,
  attempts: [],
  value: null,
  error: null,
});

it('a retry goes running → queued → running → succeeded, each move logged with its reason', () => {
  const t = task();
  moveTask(t, 'running', log, 'h#1');
  moveTask(t, 'queued', log, 'BEE_CRASHED');
  moveTask(t, 'running', log);
  moveTask(t, 'succeeded', log);
  expect(t.state).toBe('succeeded');
  const moves = lines.filter((l) => l.includes('task t-1'));
  expect(moves).toHaveLength(4);
  expect(moves[1]).toMatch(/task t-1 running → queued .*BEE_CRASHED/);
});

it('an illegal move throws and leaves the state as it was: nothing leaves a terminal state, nothing skips running', () => {
  const done = { ...task(), state: 'succeeded' as const };
  expect(() => moveTask(done, 'running', log)).toThrow(/illegal transition succeeded → running/);
  expect(done.state).toBe('succeeded');
  const queued = task();
  expect(() => moveTask(queued, 'succeeded', log)).toThrow(/illegal transition queued → succeeded/);
  expect(() => moveTask(queued, 'abandoned', log)).toThrow(/illegal/);
  expect(queued.state).toBe('queued');
  // A queued task may still end without running: cancelled, or failed when no hive can ever take it.
  moveTask(queued, 'cancelled', log);
  expect(queued.state).toBe('cancelled');
});

it('with debug off, a move logs nothing', () => {
  process.env.APIARY_LOG_LEVEL = 'info';
  const quiet: string[] = [];
  const t = task();
  moveTask(
    t,
    'running',
    createLogger('test', (l) => quiet.push(l)),
  );
  expect(t.state).toBe('running');
  expect(quiet).toEqual([]);
});
