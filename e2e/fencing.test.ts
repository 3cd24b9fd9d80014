import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { daemonPaths } from '@apiary/config';
import { beeCap } from '../services/queen/src/hives/bee-cap.js';
import { ATTEMPT_CHECK_MS, ATTEMPT_GRACE_MS } from '../services/queen/src/tasks/attempt-deadlines.js';
import { TASKS } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { FakeHive } from './helpers/fake-hive.js';
import { waitFor, waitGone } from './helpers/procs.js';
import { LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

/** A task's timeout in the black-hole test: short, so the test is quick. */
const SHORT_TIMEOUT_MS = 1000;
/**
 * The queen's deadline for an attempt never reported started (attempt-deadlines.ts): its timeout plus
 * the longest the hive was given (the same here: it is the hive's only task) plus the grace, found
 * at the next check.
 */
const RECLAIMED_WITHIN_MS = 2 * SHORT_TIMEOUT_MS + ATTEMPT_GRACE_MS + ATTEMPT_CHECK_MS + LOAD_MARGIN_MS;
/** The restart reclaim window (queen.ts): hive timeout + the hives' longest reconnect backoff. */
const RECLAIM_WINDOW_MS = QUEEN_DEFAULTS.hiveTimeoutMs + 8000;
/** A real hive's start (fork, DuckDB) on a loaded 2-core machine. */
const HIVE_START_MS = 30_000;
/** Beats from fake hives: well inside the queen's hive timeout. */
const BEAT_MS = Math.floor(QUEEN_DEFAULTS.hiveTimeoutMs / 4);

type Msg = Record<string, unknown>;
const assignsFor = (h: FakeHive, taskId: string) => h.messages('task.assign').filter((m) => m.taskId === taskId);

describe('fencing: attempt tokens, the sender check, a deadline per attempt, capped bees', () => {
  let d: TestDaemon | null = null;
  const fakes: FakeHive[] = [];
  let tmp = '';
  beforeEach(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-fencing-'));
    // No local hive: each test decides which hives there are.
    d = await TestDaemon.start(['--no-local-hive']);
  });
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
    await d?.stop();
    d = null;
    rmSync(tmp, { recursive: true, force: true });
    expect(existsSync(tmp)).toBe(false);
  });

  const join = async (name: string, o: Partial<Parameters<typeof FakeHive.join>[2]> = {}) => {
    const f = await FakeHive.join(d!.port, d!.token('join'), { name, bees: 1, beatEveryMs: BEAT_MS, ...o });
    fakes.push(f);
    await waitFor(async () => (await d!.client.colony()).hives.some((h) => h.resources.name === name), 10_000, `${name} to join`);
    return f;
  };

  it('a forged task.succeeded from another hive is refused (STALE_ATTEMPT), with a made-up token or the real one; the real result wins', async () => {
    d!.startHive('worker');
    await d!.waitHives(1, HIVE_START_MS);
    const release = path.join(tmp, 'release');
    const t = await d!.client.submit(js('holdUntil', { file: release }), { maxAttempts: 1 });
    const running = await waitFor(
      async () => {
        const v = await d!.client.get(t.id);
        return v.state === 'running' && v.attempts[0]?.bee !== -1 ? v : undefined;
      },
      10_000,
      'the task to start on the worker',
    );
    const realToken = running.attempts[0]!.token!;
    expect(realToken).toMatch(/^\d+\.1\.[0-9a-f]+$/);
    const mallory = await join('mallory');
    const forged = (token: string): Msg => ({
      type: 'task.succeeded',
      taskId: t.id,
      attempt: 1,
      token,
      bee: 0,
      durationMs: 1,
      beeState: 'idle',
      value: { kind: 'js', value: 'forged' },
    });
    mallory.sendMessage(forged('1.1.000000000000'));
    mallory.sendMessage(forged(realToken));
    const refusals = await waitFor(() => (mallory.messages('result.ack').length === 2 ? mallory.messages('result.ack') : undefined), 10_000, 'two acks');
    expect(refusals.every((a) => a.accepted === false)).toBe(true);
    expect(d!.stderr.filter((l) => l.includes('STALE_ATTEMPT') && l.includes('mallory')).length).toBeGreaterThanOrEqual(2);
    // The queen kept serving, and the task is still the worker's.
    expect((await d!.client.get(t.id)).state).toBe('running');
    writeFileSync(release, '');
    const done = await d!.client.get(t.id, 20_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.value).not.toEqual({ kind: 'js', value: 'forged' });
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]!.hive.startsWith('worker#')).toBe(true);
  });

  it('a black-hole hive that never answers loses the attempt at timeout + grace: TASK_TIMEOUT, a cancel, and the task runs elsewhere', async () => {
    const hole = await join('blackhole');
    const t = await d!.client.submit(js('echo', { n: 1 }), { timeoutMs: SHORT_TIMEOUT_MS, maxAttempts: 3 });
    await waitFor(() => assignsFor(hole, t.id).length === 1, 10_000, 'the assign to reach the black hole');
    const assignedAt = Date.now();
    // A real hive joins now: the task is the black hole's until the queen takes it back.
    d!.startHive('worker');
    const reclaimed = await waitFor(
      async () => {
        const v = await d!.client.get(t.id);
        return v.attempts[0]?.error ? v : undefined;
      },
      RECLAIMED_WITHIN_MS + HIVE_START_MS,
      'the queen to reclaim the attempt',
    );
    const reclaimMs = Date.now() - assignedAt;
    expect(reclaimed.attempts[0]!.error!.code).toBe('TASK_TIMEOUT');
    expect(reclaimed.attempts[0]!.error!.message).toMatch(/reclaimed/);
    expect(reclaimMs, `reclaimed after ${reclaimMs} ms`).toBeLessThan(RECLAIMED_WITHIN_MS);
    expect(reclaimMs).toBeGreaterThanOrEqual(2 * SHORT_TIMEOUT_MS + ATTEMPT_GRACE_MS - LOAD_MARGIN_MS);
    // The hive is told to stop it (the frame may land just after the HTTP answer).
    await waitFor(() => hole.messages('task.cancel').some((m) => m.taskId === t.id), LOAD_MARGIN_MS, 'the cancel to reach the black hole');
    // Retried on the hive it has not failed on (or, if the worker was not up yet, on the black hole again and reclaimed again).
    await d!.waitHives(1, HIVE_START_MS);
    const done = await d!.client.get(t.id, 2 * RECLAIMED_WITHIN_MS);
    expect(done.state, JSON.stringify(done.attempts)).toBe('succeeded');
    expect(done.attempts.at(-1)!.hive.startsWith('worker#')).toBe(true);
  });

  it('a hive advertising 100,000 bees on 2 cores gets work for its cores only', async () => {
    const cap = beeCap({ bees: 100_000, cores: 2 });
    const greedy = await join('greedy', { bees: 100_000, cores: 2, beeStatuses: 2 });
    const tasks = 4 * cap;
    const { ids } = await d!.client.submitBatch(Array.from({ length: tasks }, (_, i) => ({ spec: js('echo', { i }) })));
    // Placement is synchronous with the submission: what the hive gets now is all it gets.
    await waitFor(() => greedy.messages('task.assign').length >= 2 * cap, 10_000, 'the capacity of the greedy hive to fill');
    const c = await d!.client.colony();
    const g = c.hives.find((h) => h.resources.name === 'greedy')!;
    expect(g.inFlight).toBe(2 * cap);
    expect(c.queued).toBe(tasks - 2 * cap);
    expect(greedy.messages('task.assign')).toHaveLength(2 * cap);
    for (const id of ids) await d!.client.cancel(id);
  });

  it('an attempt is in the ledger before its assign leaves the queen; after a queen SIGKILL the hive claims it, resends its result, and is acknowledged; a lost one is re-run at once, not after the reclaim window', async () => {
    const q = await join('manual', { bees: 2, cores: 2 });
    // SIGKILL the queen in the very turn its assigns arrive: nothing it does after sending them may be
    // needed to record them. (The order itself, commit then send, is checked deterministically at the
    // socket in services/queen/test/commit-then-send.test.ts; here the restart is what matters.)
    let killed = false;
    const assignsSeen = new Promise<Msg[]>((resolve) => {
      q.ws.on('message', (data) => {
        const v = JSON.parse(data.toString()) as Msg | Msg[];
        const assigns = (Array.isArray(v) ? v : [v]).filter((m) => m.type === 'task.assign');
        if (assigns.length === 0 || killed) return;
        killed = true;
        d!.queen!.kill('SIGKILL');
        resolve(assigns);
      });
    });
    // One batch: both are placed in one turn and assigned in one frame. The queen may die before it answers.
    await d!.client.submitBatch([{ spec: js('echo', { n: 'kept' }) }, { spec: js('echo', { n: 'lost' }) }]).catch(() => undefined);
    const assigns = await assignsSeen;
    expect(assigns).toHaveLength(2);
    const byN = (n: string) => assigns.find((m) => (m.spec as { args: { n: string } }).args.n === n)!;
    const [a1, a2] = [byN('kept'), byN('lost')];
    const kept = { id: a1.taskId as string };
    const lost = { id: a2.taskId as string };
    await waitGone([d!.queen!.pid!], 5000);
    const db = new Database(daemonPaths(d!.home).db, { readonly: true });
    try {
      const rows = db.prepare('SELECT task_id, attempt, token FROM attempts WHERE task_id IN (?, ?) ORDER BY task_id').all(kept.id, lost.id);
      expect(rows).toHaveLength(2);
      for (const a of [a1, a2]) expect(rows).toContainEqual({ task_id: a.taskId, attempt: 1, token: a.token });
    } finally {
      db.close();
    }
    await q.close();
    fakes.splice(fakes.indexOf(q), 1);
    await d!.startQueen();
    // It rejoins holding the first (say, finished with the result unacknowledged) but not the second.
    const back = await join('manual', { bees: 2, cores: 2, running: [{ taskId: kept.id, attempt: 1, token: a1.token as string }] });
    const rejoinedAt = Date.now();
    back.sendMessage({
      type: 'task.succeeded',
      taskId: kept.id,
      attempt: 1,
      token: a1.token,
      bee: 0,
      durationMs: 1,
      beeState: 'idle',
      value: { kind: 'js', value: 'kept' },
    });
    await waitFor(() => back.messages('result.ack').some((m) => m.taskId === kept.id && m.accepted === true), 10_000, 'the ack of the resent result');
    const k = await d!.client.get(kept.id);
    expect(k.state).toBe('succeeded');
    expect(k.attempts).toHaveLength(1);
    expect(k.value).toEqual({ kind: 'js', value: 'kept' });
    // The other was lost on that hive: retried as soon as the hive rejoined without it.
    const retry = await waitFor(() => assignsFor(back, lost.id)[0], RECLAIM_WINDOW_MS, 'the lost attempt to be re-dispatched');
    const retryMs = Date.now() - rejoinedAt;
    expect(retry.attempt).toBe(2);
    expect(retryMs, `re-dispatched ${retryMs} ms after the rejoin`).toBeLessThan(RECLAIM_WINDOW_MS - LOAD_MARGIN_MS);
    const l = await d!.client.get(lost.id);
    expect(l.attempts[0]!.error?.code).toBe('HIVE_LOST');
    expect(l.attempts[0]!.error?.message).toMatch(/rejoined without it/);
    // A new epoch: the retry's token is not the old queen's.
    expect(String(retry.token).split('.')[0]).not.toBe(String(a2.token).split('.')[0]);
    await d!.client.cancel(lost.id);
  });
});
