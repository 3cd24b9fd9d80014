import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { HiveSession, PIPELINE_DEPTH, SHORT_TASK_MS, SHORT_TASK_PIPELINE_DEPTH } from '../src/hives/hive-session.js';
import { ATTEMPT_GRACE_MS, AttemptDeadlines } from '../src/tasks/attempt-deadlines.js';
import { HIVE_RESOURCES, hiveSocketPair } from './helpers/hive-socket-pair.js';

let pair: Awaited<ReturnType<typeof hiveSocketPair>>;
let hive: HiveSession;
let other: HiveSession;
let serverWs: WebSocket;

beforeAll(async () => {
  pair = await hiveSocketPair();
  serverWs = pair.server;
  hive = new HiveSession('h#1', HIVE_RESOURCES, serverWs);
  other = new HiveSession('o#2', { ...HIVE_RESOURCES, name: 'o' }, serverWs);
});

afterAll(async () => {
  await pair?.close();
});

const T0 = 1_000_000;
const ids = (xs: { taskId: string }[]) => xs.map((x) => x.taskId);

it('an attempt not yet started may wait behind the longest timeout its hive was given; once started, its own timeout + grace', () => {
  const d = new AttemptDeadlines();
  d.assigned('long', 1, hive, 60_000, T0);
  d.assigned('short', 1, hive, 1000, T0);
  // Queued behind the long one: not reclaimed at 2 × its own timeout + grace.
  expect(ids(d.takeExpired(T0 + 2 * 1000 + ATTEMPT_GRACE_MS + 1))).toEqual([]);
  // Another hive's bound is its own.
  d.assigned('elsewhere', 1, other, 1000, T0);
  expect(ids(d.takeExpired(T0 + 2 * 1000 + ATTEMPT_GRACE_MS + 1))).toEqual(['elsewhere']);
  // Started: its own timeout + grace from the start; a second start report does not extend it.
  const startedAt = T0 + 10_000;
  d.started('short', 1, startedAt);
  d.started('short', 1, startedAt + 5000);
  expect(ids(d.takeExpired(startedAt + 1000 + ATTEMPT_GRACE_MS - 1))).toEqual([]);
  expect(ids(d.takeExpired(startedAt + 1000 + ATTEMPT_GRACE_MS + 1))).toEqual(['short']);
  // The long one, never started: 60 s + 60 s + grace.
  expect(ids(d.takeExpired(T0 + 120_000 + ATTEMPT_GRACE_MS - 1))).toEqual([]);
  expect(ids(d.takeExpired(T0 + 120_000 + ATTEMPT_GRACE_MS + 1))).toEqual(['long']);
});

it('an ended attempt, or a start report of another attempt, changes nothing', () => {
  const d = new AttemptDeadlines();
  d.assigned('a', 2, hive, 1000, T0);
  d.started('a', 1, T0); // a stale attempt's start
  d.end('b');
  expect(ids(d.takeExpired(T0 + 1000 + 60_000 + ATTEMPT_GRACE_MS + 1))).toEqual(['a']);
  d.assigned('c', 1, hive, 1000, T0);
  d.end('c');
  expect(d.takeExpired(T0 + 10 * 60_000)).toEqual([]);
});

it('a hive whose attempts are short gets a deeper pipeline, back to two per bee once they are long; the deadline of a queued attempt allows for the tasks ahead of it', () => {
  const h = new HiveSession('p#3', { ...HIVE_RESOURCES, name: 'p', bees: 2 }, serverWs);
  // Unknown run times count as long.
  expect(h.depth).toBe(PIPELINE_DEPTH);
  expect(h.capacity).toBe(2 * PIPELINE_DEPTH);
  for (let i = 0; i < 10; i++) h.noteRunTime(0);
  expect(h.depth).toBe(SHORT_TASK_PIPELINE_DEPTH);
  expect(h.capacity).toBe(2 * SHORT_TASK_PIPELINE_DEPTH);
  const d = new AttemptDeadlines();
  d.assigned('deep', 1, h, 1000, T0);
  // Up to depth − 1 tasks ahead on its bee, each up to the longest timeout (1 s here), then its own + grace.
  const due = T0 + (SHORT_TASK_PIPELINE_DEPTH - 1) * 1000 + 1000 + ATTEMPT_GRACE_MS;
  expect(ids(d.takeExpired(due - 1))).toEqual([]);
  expect(ids(d.takeExpired(due + 1))).toEqual(['deep']);
  // A run of long tasks brings it back to the default depth.
  for (let i = 0; i < 200 && h.depth !== PIPELINE_DEPTH; i++) h.noteRunTime(10 * SHORT_TASK_MS);
  expect(h.depth).toBe(PIPELINE_DEPTH);
});
