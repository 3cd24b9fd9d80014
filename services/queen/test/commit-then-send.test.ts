import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, waitUntil } from '@apiary/runtime';
import { HiveSession } from '../src/hives/hive-session.js';
import { ACK_HOLD_MS, COMMIT_COALESCE_MS } from '../src/tasks/commit-then-send.js';
import { Scheduler } from '../src/tasks/scheduler.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import { openQueenDb } from '../src/db/queen-db.js';
import { HIVE_RESOURCES, hiveSocketPair } from './helpers/hive-socket-pair.js';

/** How long a wait for messages may take on a busy machine; the contracts tested are ordering, not speed. */
const WAIT_MS = 10_000;

/*
 * The ledger commit comes before the message that announces it: checked at the moment the frame is
 * written to the hive's (real) socket, from a second SQLite connection. With the ledger's 5 ms
 * write-behind alone, the row would not be there yet when the frame goes out.
 */

type Msg = Record<string, unknown>;
const RESOURCES = { ...HIVE_RESOURCES, bees: 2 };

let dir: string;
let pair: Awaited<ReturnType<typeof hiveSocketPair>>;
let db: Database.Database;
let ledger: SqliteLedger;
let reader: Database.Database;
let scheduler: Scheduler;
let session: HiveSession;
/** What the reader saw in the ledger as each message left: [message, its row]. */
let seen: [Msg, unknown][];
/** Each packet written to the hive's socket: its messages' types and task ids. */
let packets: string[][];
/** Called as each packet is written, before it leaves (a test's look into the ledger at that moment). */
let onPacket: (() => void) | null;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-commit-'));
  const file = join(dir, 'queen.db');
  db = openQueenDb(file);
  ledger = new SqliteLedger({ db });
  reader = new Database(file, { readonly: true });
  pair = await hiveSocketPair();
  const ws = pair.server;
  seen = [];
  packets = [];
  onPacket = null;
  // Look into the ledger the moment each frame is written to the socket.
  const send = ws.send.bind(ws);
  ws.send = ((frame: string, ...rest: unknown[]) => {
    const v = JSON.parse(frame) as Msg | Msg[];
    packets.push((Array.isArray(v) ? v : [v]).map((m) => `${m.type} ${m.taskId}`));
    onPacket?.();
    for (const m of Array.isArray(v) ? v : [v]) {
      if (m.type === 'task.assign') seen.push([m, reader.prepare('SELECT token FROM attempts WHERE task_id = ? AND attempt = ?').get(m.taskId, m.attempt)]);
      if (m.type === 'result.ack') seen.push([m, reader.prepare('SELECT state FROM tasks WHERE id = ?').get(m.taskId)]);
    }
    return (send as (...a: unknown[]) => void)(frame, ...rest);
  }) as typeof ws.send;
  session = new HiveSession('h#1', RESOURCES, ws);
  scheduler = new Scheduler(
    ledger,
    () => [session],
    { maxAttempts: 3 },
    createLogger('test', () => {}),
  );
});

afterEach(async () => {
  scheduler.drain();
  await pair?.close();
  reader.close();
  ledger.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const waitSeen = async (n: number) => {
  if (!(await waitUntil(() => seen.length >= n, WAIT_MS, 10))) throw new Error(`saw ${seen.length} of ${n} messages`);
};

it('an assign leaves the queen only after its attempt and token are committed', async () => {
  const recs = scheduler.submitMany(
    Array.from({ length: 3 }, (_, i) => ({ spec: { kind: 'js' as const, module: 'm.mjs', export: 'default', args: { i } }, limits: {} })),
  );
  await waitSeen(3);
  for (const [m, row] of seen) {
    expect(m.type).toBe('task.assign');
    expect(row, `attempt of ${m.taskId} in the ledger when its assign left`).toEqual({ token: m.token });
  }
  expect(new Set(seen.map(([m]) => m.taskId))).toEqual(new Set(recs.map((r) => r.id)));
});

it('a result is acknowledged only after what it did is committed', async () => {
  const [t] = scheduler.submitMany([{ spec: { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} }, limits: {} }]);
  await waitSeen(1);
  const assign = seen[0]![0];
  scheduler.onSucceeded(session, { taskId: t!.id, attempt: 1, token: assign.token as string }, { kind: 'js', value: 1 }, 1);
  await waitSeen(2);
  const [ack, row] = seen[1]!;
  expect(ack).toMatchObject({ type: 'result.ack', taskId: t!.id, accepted: true });
  expect(row).toEqual({ state: 'succeeded' });
});

it('a lone ack does not cost a packet of its own: it rides with the next assign, committed with it', async () => {
  const spec = { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} };
  const [t1] = scheduler.submitMany([{ spec, limits: {} }]);
  await waitSeen(1);
  const assign = seen[0]![0];
  scheduler.onSucceeded(session, { taskId: t1!.id, attempt: 1, token: assign.token as string }, { kind: 'js', value: 1 }, 1);
  // Several turns of the loop pass (well inside ACK_HOLD_MS): the ack is held, not written alone.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  expect(packets).toHaveLength(1);
  // The result's own write (behind, FLUSH_WINDOW_MS) lands; only then may the ack ride without a commit.
  if (!(await waitUntil(() => ledger.pendingUpdates === 0, WAIT_MS, 10))) throw new Error('the result was never written');
  expect(packets).toHaveLength(1);
  const [t2] = scheduler.submitMany([{ spec, limits: {} }]);
  await waitSeen(3);
  expect(packets).toHaveLength(2);
  expect(packets[1]).toEqual([`result.ack ${t1!.id}`, `task.assign ${t2!.id}`]);
  // Still commit-then-send: the acknowledged result was in the ledger when the packet left.
  const [, row] = seen.find(([m]) => m.type === 'result.ack')!;
  expect(row).toEqual({ state: 'succeeded' });
});

it(`an ack with nothing to ride on goes out alone within ACK_HOLD_MS (${ACK_HOLD_MS} ms)`, async () => {
  const [t] = scheduler.submitMany([{ spec: { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} }, limits: {} }]);
  await waitSeen(1);
  const assign = seen[0]![0];
  const at = Date.now();
  scheduler.onSucceeded(session, { taskId: t!.id, attempt: 1, token: assign.token as string }, { kind: 'js', value: 1 }, 1);
  await waitSeen(2);
  // Not before the hold (a timer never fires early); the upper bound is waitSeen's own.
  expect(Date.now() - at).toBeGreaterThanOrEqual(ACK_HOLD_MS - 1);
  expect(packets[1]).toEqual([`result.ack ${t!.id}`]);
});

it('a task that can start at once is recorded with its first attempt in ONE commit: its assign needs no commit of its own', async () => {
  const states: string[] = [];
  const off = scheduler.onChange((t) => states.push(t.state));
  const version = () => reader.pragma('data_version', { simple: true }) as number;
  const before = version();
  const spec = { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} };
  // As many as the hive has room for start now; one more waits in the queue.
  const room = session.free;
  expect(room).toBeGreaterThan(0);
  const recs = Array.from({ length: room + 1 }, () => scheduler.submit(spec, {}));
  // No turn of the event loop yet: what submit committed is all there is.
  const row = (id: string) => reader.prepare('SELECT t.state, a.token FROM tasks t LEFT JOIN attempts a ON a.task_id = t.id WHERE t.id = ?').get(id);
  for (const r of recs.slice(0, room)) expect(row(r.id)).toEqual({ state: 'running', token: r.attempts[0]!.token });
  expect(row(recs[room]!.id)).toEqual({ state: 'queued', token: null });
  const afterSubmit = version();
  expect(afterSubmit).not.toBe(before);
  await waitSeen(room);
  // The assigns went out, and nothing was committed for them (data_version moves with another connection's commit).
  expect(version()).toBe(afterSubmit);
  // Listeners still see each task queued before running.
  expect(states).toEqual([...recs.slice(0, room).flatMap(() => ['queued', 'running']), 'queued']);
  off();
});

it('an assign already committed goes out at once, without pulling a pending result write onto its path; that ack follows the write', async () => {
  const spec = { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} };
  const [t1] = scheduler.submitMany([{ spec, limits: {} }]);
  await waitSeen(1);
  const assign = seen[0]![0];
  const state = (id: string) => reader.prepare('SELECT state FROM tasks WHERE id = ?').get(id);
  let t1AsT2Left: unknown;
  onPacket = () => {
    if (packets.length === 2) t1AsT2Left = state(t1!.id);
  };
  // Back to back, as a client that got t1's answer sends t2: t1's result is still only written behind.
  scheduler.onSucceeded(session, { taskId: t1!.id, attempt: 1, token: assign.token as string }, { kind: 'js', value: 1 }, 1);
  expect(ledger.pendingUpdates).toBeGreaterThan(0);
  const t2 = scheduler.submit(spec, {});
  await waitSeen(2);
  expect(packets[1]).toEqual([`task.assign ${t2.id}`]);
  expect(t1AsT2Left, "t1's result not committed for t2's assign").toEqual({ state: 'running' });
  // The held ack goes after its result's commit.
  await waitSeen(3);
  const [ack, row] = seen[2]!;
  expect(ack).toMatchObject({ type: 'result.ack', taskId: t1!.id, accepted: true });
  expect(row).toEqual({ state: 'succeeded' });
});

describe('commit coalescing under load', () => {
  /** Wide, so the test's own turns surely fall inside it; the production window is COMMIT_COALESCE_MS. */
  const WINDOW_MS = 1000;
  const spec = { kind: 'js' as const, module: 'm.mjs', export: 'default', args: {} };
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  const waitPackets = async (n: number) => {
    if (!(await waitUntil(() => packets.length >= n, WAIT_MS, 10))) throw new Error(`saw ${packets.length} of ${n} packets`);
  };
  const tokenOf = (id: string) => seen.find(([m]) => m.type === 'task.assign' && m.taskId === id)![0].token as string;
  const succeed = (id: string) => scheduler.onSucceeded(session, { taskId: id, attempt: 1, token: tokenOf(id) }, { kind: 'js', value: 1 }, 1);

  beforeEach(() => {
    scheduler.drain();
    // The ledger's own write-behind timer would commit too (FLUSH_WINDOW_MS): here only the outbox does.
    ledger.close();
    ledger = new SqliteLedger({ db, flushWindowMs: 60_000 });
    scheduler = new Scheduler(
      ledger,
      () => [session],
      { maxAttempts: 3, commitCoalesceMs: WINDOW_MS },
      createLogger('test', () => {}),
    );
  });

  it('the production window is short against a tiny task', () => {
    expect(COMMIT_COALESCE_MS).toBeGreaterThan(0);
    expect(COMMIT_COALESCE_MS).toBeLessThanOrEqual(2);
  });

  it('assigns to a busy hive (half its pipeline or more already sent) share one commit per window; the first commits at once', async () => {
    const cap = session.capacity;
    expect(cap).toBeGreaterThanOrEqual(4);
    // The hive's whole pipeline goes out with the create commit; three more wait in the queue.
    const recs = scheduler.submitMany(Array.from({ length: cap + 3 }, () => ({ spec, limits: {} })));
    await waitPackets(1);
    const version = () => reader.pragma('data_version', { simple: true }) as number;
    // First result: nothing committed for a while, so its commit and the next assign go at once.
    const v0 = version();
    // The first commit is made after this moment: the window is counted from it.
    const beforeFirstCommit = performance.now();
    succeed(recs[0]!.id);
    await turns(3);
    expect(packets).toHaveLength(2);
    expect(packets[1]).toContain(`task.assign ${recs[cap]!.id}`);
    const v1 = version();
    expect(v1).not.toBe(v0);
    // Two more results in turns of their own: the hive still holds most of its pipeline, so their
    // assigns wait for one commit at the end of the window.
    succeed(recs[1]!.id);
    await turns(3);
    succeed(recs[2]!.id);
    await turns(3);
    expect(packets).toHaveLength(2);
    expect(version()).toBe(v1);
    await waitPackets(3);
    // It waited for the window, not for a turn (a timer counts from the loop's cached ms clock: a
    // little early at most, so 90% of the window).
    expect(performance.now() - beforeFirstCommit).toBeGreaterThanOrEqual(WINDOW_MS * 0.9);
    expect(packets[2]).toEqual(expect.arrayContaining([`task.assign ${recs[cap + 1]!.id}`, `task.assign ${recs[cap + 2]!.id}`]));
    expect(packets[2]!.filter((m) => m.startsWith('result.ack'))).toHaveLength(2);
    // Still commit-then-send: each attempt was in the ledger when its assign left.
    for (const [m, row] of seen) if (m.type === 'task.assign') expect(row, `${m.taskId}`).toEqual({ token: m.token });
  });

  it('an assign to a hive with room commits and goes at once, inside the window of the last commit', async () => {
    const cap = session.capacity;
    const recs = scheduler.submitMany(Array.from({ length: cap + 1 }, () => ({ spec, limits: {} })));
    await waitPackets(1);
    // One commit now (the queued task's assign); then the hive empties but for one task.
    succeed(recs[0]!.id);
    await turns(3);
    expect(packets).toHaveLength(2);
    const committedAt = performance.now();
    for (const r of recs.slice(2)) succeed(r.id);
    // The last task in the hive fails for the colony's sake: its retry needs a commit, to a hive
    // that holds nothing else. It goes in the next turns, not at the end of the window.
    const t = recs[1]!;
    scheduler.onFailed(session, { taskId: t.id, attempt: 1, token: tokenOf(t.id) }, { code: 'HIVE_LOST', message: 'test' }, 1);
    await turns(3);
    expect(performance.now() - committedAt).toBeLessThan(WINDOW_MS);
    const retry = packets.at(-1)!;
    expect(retry).toContain(`task.assign ${t.id}`);
    const [m, row] = seen.filter(([x]) => x.type === 'task.assign').at(-1)!;
    expect(m).toMatchObject({ taskId: t.id, attempt: 2 });
    expect(row).toEqual({ token: m.token });
  });
});
