import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Updates are written within the ledger's flush window (5 ms); wait comfortably past it. */
const flushWindow = () => sleep(30);
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiaryError, type TaskValue } from '@apiary/protocol';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { MIGRATIONS, migrate } from '../src/tasks/migrations.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import type { SqliteLedgerOptions } from '../src/tasks/sqlite-ledger-options.js';
import { openQueenDb } from '../src/db/queen-db.js';

let dir: string;
let file: string;
let resultsDir: string;
let open: SqliteLedger[];
/** The database each ledger was given (the test owns it, as the queen's main does). */
const dbOf = new Map<SqliteLedger, Database.Database>();
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-ledger-'));
  file = join(dir, 'queen.db');
  resultsDir = join(dir, 'results');
  open = [];
});

afterEach(() => {
  for (const l of open) closeLedger(l);
  rmSync(dir, { recursive: true, force: true });
  expect(existsSync(dir)).toBe(false);
});

function ledger(opts: Partial<SqliteLedgerOptions> = {}): SqliteLedger {
  const db = openQueenDb(file);
  let l: SqliteLedger;
  try {
    l = new SqliteLedger({ db, resultsDir, ...opts });
  } catch (e) {
    db.close();
    throw e;
  }
  dbOf.set(l, db);
  open.push(l);
  return l;
}

/** Close the ledger (it flushes), then its database. */
function closeLedger(l: SqliteLedger): void {
  try {
    l.close();
  } finally {
    dbOf.get(l)?.close();
    dbOf.delete(l);
  }
}

function reopen(l: SqliteLedger, opts: Partial<SqliteLedgerOptions> = {}): SqliteLedger {
  closeLedger(l);
  return ledger(opts);
}

function rec(over: Partial<TaskRecord> = {}): TaskRecord {
  seq++;
  return {
    id: `task-${seq}`,
    spec: { kind: 'sql', sql: `select ${seq}` },
    limits: { timeoutMs: 1000 },
    state: 'queued',
    createdAt: 1_000_000 + seq,
    finishedAt: null,
    maxAttempts: 3,
    attempts: [],
    value: null,
    error: null,
    ...over,
  };
}

/** A second, read-only connection: what is really on disk. */
function peek<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

function bigValue(bytes: number): TaskValue {
  const rows = [];
  for (let i = 0; rows.length * 60 < bytes; i++) rows.push({ i, s: `row ${i} ünïcödé ${'x'.repeat(30)}` });
  return {
    kind: 'sql',
    columns: [
      { name: 'i', type: 'INTEGER' },
      { name: 's', type: 'VARCHAR' },
    ],
    rows,
  };
}

describe('SqliteLedger', () => {
  it('brings a task and its attempts back after reopening', () => {
    let l = ledger();
    const t = rec({
      spec: { kind: 'js', module: '/m.mjs', export: 'run', args: { n: [1, 2] } },
      limits: { timeoutMs: 5000, maxAttempts: 2 },
      maxAttempts: 2,
    });
    l.create(t);
    t.state = 'running';
    t.attempts.push({ attempt: 1, hive: 'h1', bee: -1, startedAt: 10, durationMs: 0, error: null });
    l.update(t);
    t.attempts[0]!.bee = 4; // mutated in place after update(), as onStarted does
    t.attempts[0]!.error = { code: 'BEE_CRASHED', message: 'gone' };
    t.attempts[0]!.durationMs = 12.5;
    t.attempts.push({ attempt: 2, hive: 'h2', bee: 1, startedAt: 30, durationMs: 0, error: null });
    l.update(t);

    l = reopen(l);
    const back = l.get(t.id);
    expect(back).toEqual(t);
    expect(back).not.toBe(t);
    expect(back!.attempts.map((a) => [a.attempt, a.hive, a.bee, a.error?.code ?? null])).toEqual([
      [1, 'h1', 4, 'BEE_CRASHED'],
      [2, 'h2', 1, null],
    ]);
    expect(l.get('no-such-task')).toBeUndefined();
  });

  it('returns queued and running tasks in creation order after reopening (createdAt never goes back in it)', () => {
    let l = ledger();
    const a = rec({ createdAt: 500 });
    const b = rec({ createdAt: 100, state: 'running' });
    const c = rec({ createdAt: 300, state: 'succeeded', finishedAt: 400 });
    const d = rec({ createdAt: 300 });
    const e = rec({ createdAt: 300, state: 'running' });
    const f = rec({ createdAt: 200, state: 'cancelled', finishedAt: 250 });
    l.createMany([a, b, c, d, e, f]);
    // Recorded no earlier than the task created before it (migration 9: listings walk seq).
    expect([a, b, c, d, e, f].map((t) => t.createdAt)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(l.nonTerminal().map((t) => t.id)).toEqual([a.id, b.id, d.id, e.id]);

    l = reopen(l);
    expect(l.nonTerminal().map((t) => t.id)).toEqual([a.id, b.id, d.id, e.id]);
    expect(l.nonTerminal().map((t) => t.state)).toEqual(['queued', 'running', 'queued', 'running']);
    expect(l.nonTerminal().map((t) => t.createdAt)).toEqual([500, 500, 500, 500]);
  });

  it('keeps updates across close and reopen, and writes them within the flush window', async () => {
    let l = ledger();
    const t = rec();
    l.create(t);
    t.state = 'running';
    t.attempts.push({ attempt: 1, hive: 'h1', bee: 2, startedAt: 1, durationMs: 0, error: null });
    l.update(t);
    const attempts = () => peek<{ n: number }>('SELECT count(*) AS n FROM attempts WHERE task_id = ?', t.id)[0]!.n;
    expect(attempts()).toBe(0);
    await flushWindow();
    // The start of an attempt writes the attempt; the task's row is left as it was (stored-row.ts).
    expect(attempts()).toBe(1);
    expect(peek<{ state: string }>('SELECT state FROM tasks WHERE id = ?', t.id)[0]!.state).toBe('queued');

    t.state = 'failed';
    t.finishedAt = 99;
    t.error = { code: 'SQL_ERROR', message: 'boom', details: { line: 1 } };
    t.attempts[0]!.durationMs = 7;
    l.update(t); // not yet flushed: close() must write it
    l = reopen(l);
    const back = l.get(t.id)!;
    expect(back.state).toBe('failed');
    expect(back.finishedAt).toBe(99);
    expect(back.error).toEqual({ code: 'SQL_ERROR', message: 'boom', details: { line: 1 } });
    expect(back.attempts[0]!.durationMs).toBe(7);
    expect(l.nonTerminal()).toEqual([]);
  });

  it('an assign writes only its attempt; the row still says queued and reads as running (also after a reopen, as a SIGKILL leaves it), a retry as queued', () => {
    let l = ledger();
    const t = rec();
    const u = rec();
    l.createMany([t, u]);
    const row = () => peek<{ state: string }>('SELECT state FROM tasks WHERE id = ?', t.id)[0]!.state;
    const start = (attempt: number) => {
      t.state = 'running';
      t.attempts.push({ attempt, hive: 'h1', bee: 0, startedAt: 1, durationMs: 0, error: null, token: `1.${attempt}.x` });
      l.update(t);
      l.flush();
    };
    start(1);
    expect(row()).toBe('queued');
    expect(l.list({ state: 'running', limit: 10 })).toEqual([t]);
    expect(l.list({ state: 'queued', limit: 10 })).toEqual([u]);
    // As a queen killed now finds it: running on attempt 1, with its token.
    l = reopen(l);
    let back = l.get(t.id)!;
    expect(back.state).toBe('running');
    expect(back.attempts.map((a) => a.token)).toEqual(['1.1.x']);
    expect(l.nonTerminal().map((x) => [x.id, x.state])).toEqual([
      [t.id, 'running'],
      [u.id, 'queued'],
    ]);
    expect(l.list({ state: 'running', limit: 10 }).map((x) => x.id)).toEqual([t.id]);
    // The attempt fails and the task goes back to the queue: the row is already right, the attempt says why.
    back.attempts[0]!.error = { code: 'HIVE_LOST', message: 'gone' };
    back.state = 'queued';
    l.update(back);
    l.flush();
    expect(row()).toBe('queued');
    l = reopen(l);
    back = l.get(t.id)!;
    expect(back.state).toBe('queued');
    // The retry runs, then succeeds: the end rewrites the row.
    Object.assign(t, back);
    l.update(t);
    start(2);
    l = reopen(l);
    expect(l.get(t.id)!.state).toBe('running');
    const r = l.get(t.id)!;
    Object.assign(r, { state: 'succeeded', finishedAt: 9, value: { kind: 'js', value: 1 } });
    l.update(r);
    l.flush();
    expect(row()).toBe('succeeded');
    l = reopen(l);
    expect(l.get(t.id)!.state).toBe('succeeded');
    expect(l.get(t.id)!.attempts).toHaveLength(2);
    expect(l.nonTerminal().map((x) => x.id)).toEqual([u.id]);
  });

  it('writes a large result to a file and reads it back identically; a small one stays inline', () => {
    let l = ledger({ inlineResultMaxBytes: 10_000 });
    const big = rec({ state: 'running' });
    const small = rec({ state: 'running' });
    l.createMany([big, small]);
    const bigV = bigValue(50_000);
    const smallV: TaskValue = { kind: 'js', value: { ok: true, n: 1 } };
    Object.assign(big, { state: 'succeeded', value: bigV, finishedAt: 5 });
    Object.assign(small, { state: 'succeeded', value: smallV, finishedAt: 6 });
    l.update(big);
    l.update(small);
    l.flush();

    expect(readdirSync(resultsDir)).toEqual([`${big.id}.json`]); // and no temp file left behind
    const rows = peek<{ id: string; value: string | null; value_file: string | null }>('SELECT id, value, value_file FROM tasks ORDER BY seq');
    expect(rows).toEqual([
      { id: big.id, value: null, value_file: `${big.id}.json` },
      { id: small.id, value: JSON.stringify(smallV), value_file: null },
    ]);

    l = reopen(l, { inlineResultMaxBytes: 10_000 });
    expect(l.get(big.id)!.value).toEqual(bigV);
    expect(l.get(small.id)!.value).toEqual(smallV);
    expect(l.list({ state: 'succeeded', limit: 1 })[0]!.value).toEqual(smallV);
    expect(l.list({ state: 'succeeded', limit: 2 })[1]!.value).toEqual(bigV);
  });

  it('keeps every result inline without a results directory', () => {
    const l = ledger({ resultsDir: undefined, inlineResultMaxBytes: 100 });
    const t = rec({ state: 'succeeded', value: bigValue(5_000), finishedAt: 1 });
    l.create(t);
    expect(existsSync(resultsDir)).toBe(false);
    expect(peek<{ value_file: string | null }>('SELECT value_file FROM tasks')[0]!.value_file).toBeNull();
  });

  it('lists newest first, by state, up to the limit', () => {
    const l = ledger();
    const t1 = rec({ createdAt: 10 });
    const t2 = rec({ createdAt: 30 });
    const t3 = rec({ createdAt: 20 });
    const t4 = rec({ createdAt: 30 });
    const t5 = rec({ createdAt: 40, state: 'failed', finishedAt: 41 });
    l.createMany([t1, t2, t3, t4, t5]);
    // t3 is recorded as created at 30, as t2 before it: newest first is creation order backwards.
    expect(t3.createdAt).toBe(30);
    expect(l.list({ limit: 10 }).map((t) => t.id)).toEqual([t5.id, t4.id, t3.id, t2.id, t1.id]);
    expect(l.list({ limit: 2 }).map((t) => t.id)).toEqual([t5.id, t4.id]);
    expect(l.list({ state: 'queued', limit: 10 }).map((t) => t.id)).toEqual([t4.id, t3.id, t2.id, t1.id]);
    expect(l.list({ state: 'queued', limit: 1 }).map((t) => t.id)).toEqual([t4.id]);
    expect(l.list({ state: 'failed', limit: 10 })).toEqual([t5]);
    expect(l.list({ state: 'abandoned', limit: 10 })).toEqual([]);

    // A pending update counts: t3 is now running.
    t3.state = 'running';
    l.update(t3);
    expect(l.list({ state: 'running', limit: 10 })).toEqual([t3]);
    expect(l.list({ state: 'queued', limit: 10 }).map((t) => t.id)).toEqual([t4.id, t2.id, t1.id]);
  });

  it('returns the same object for a live task, also after reopening', async () => {
    let l = ledger();
    const t = rec();
    l.create(t);
    expect(l.get(t.id)).toBe(t);
    t.state = 'running';
    t.attempts.push({ attempt: 1, hive: 'h', bee: -1, startedAt: 1, durationMs: 0, error: null });
    l.update(t);
    await flushWindow();
    expect(l.get(t.id)).toBe(t);
    expect(l.nonTerminal()[0]).toBe(t);
    expect(l.list({ limit: 1 })[0]).toBe(t);

    l = reopen(l);
    const live = l.get(t.id)!;
    expect(live).not.toBe(t);
    expect(l.get(t.id)).toBe(live);
    expect(l.nonTerminal()[0]).toBe(live);
    live.attempts[0]!.bee = 9; // in-place mutation is seen by the next get()
    expect(l.get(t.id)!.attempts[0]!.bee).toBe(9);
  });

  it('evicts finished tasks beyond the cache and reads them back from disk', () => {
    const l = ledger({ cacheSize: 2 });
    const ts = [rec(), rec(), rec()];
    l.createMany(ts);
    for (const t of ts) {
      Object.assign(t, { state: 'succeeded', finishedAt: 1, value: { kind: 'js', value: t.id } });
      l.update(t);
    }
    l.flush();
    expect(l.get(ts[2]!.id)).toBe(ts[2]);
    const first = l.get(ts[0]!.id)!;
    expect(first).not.toBe(ts[0]); // evicted: a fresh copy from SQLite
    expect(first).toEqual(ts[0]);
  });

  it('records a batch atomically: a taken id fails the whole batch', () => {
    let l = ledger();
    const kept = rec();
    l.create(kept);
    const batch = [rec(), rec(), rec({ id: kept.id }), rec()];
    expect(() => l.createMany(batch)).toThrow(ApiaryError);
    const dupInBatch = [rec({ id: 'same' }), rec(), rec({ id: 'same' })];
    expect(() => l.createMany(dupInBatch)).toThrow(/already exists/);
    expect(() => l.create(rec({ id: kept.id }))).toThrow(ApiaryError);

    for (const t of [...batch, ...dupInBatch]) if (t.id !== kept.id) expect(l.get(t.id)).toBeUndefined();
    expect(l.get(kept.id)).toBe(kept);
    expect(l.nonTerminal()).toEqual([kept]);
    l = reopen(l);
    expect(peek<{ n: number }>('SELECT count(*) AS n FROM tasks')[0]!.n).toBe(1);
    expect(l.nonTerminal().map((t) => t.id)).toEqual([kept.id]);
  });

  it('drops an update of a task that was never created', () => {
    const l = ledger();
    const ghost = rec();
    l.update(ghost);
    l.flush();
    expect(l.get(ghost.id)).toBeUndefined();
    expect(l.nonTerminal()).toEqual([]);
  });

  it('keeps updates pending when a deferred write fails, and writes them later', async () => {
    const errors: ApiaryError[] = [];
    const l = ledger({ inlineResultMaxBytes: 100, onError: (e) => errors.push(e) });
    const t = rec({ state: 'running' });
    l.create(t);
    rmSync(resultsDir, { recursive: true });
    writeFileSync(resultsDir, 'not a directory'); // the big result cannot be written
    Object.assign(t, { state: 'succeeded', finishedAt: 2, value: bigValue(1000) });
    l.update(t);
    await flushWindow();
    expect(errors.map((e) => e.code)).toEqual(['INTERNAL']);
    expect(peek<{ state: string }>('SELECT state FROM tasks')[0]!.state).toBe('running');

    rmSync(resultsDir);
    mkdirSync(resultsDir);
    l.flush();
    expect(peek<{ state: string; value_file: string }>('SELECT state, value_file FROM tasks')[0]).toEqual({
      state: 'succeeded',
      value_file: `${t.id}.json`,
    });
  });

  it('a write that fails after an earlier record of its batch was written rewrites that one too (its row as known is rolled back with it)', async () => {
    const errors: ApiaryError[] = [];
    const l = ledger({ inlineResultMaxBytes: 100, onError: (e) => errors.push(e) });
    const small = rec({ state: 'running' });
    const big = rec({ state: 'running' });
    l.createMany([small, big]);
    rmSync(resultsDir, { recursive: true });
    writeFileSync(resultsDir, 'not a directory');
    Object.assign(small, { state: 'succeeded', finishedAt: 2, value: { kind: 'js', value: 1 } });
    Object.assign(big, { state: 'succeeded', finishedAt: 2, value: bigValue(1000) });
    l.update(small);
    l.update(big);
    await flushWindow();
    expect(errors.map((e) => e.code)).toEqual(['INTERNAL']);
    const states = () => peek<{ state: string }>('SELECT state FROM tasks ORDER BY seq').map((r) => r.state);
    expect(states()).toEqual(['running', 'running']);
    rmSync(resultsDir);
    mkdirSync(resultsDir);
    l.flush();
    expect(states()).toEqual(['succeeded', 'succeeded']);
  });

  it('rejects an id that cannot name a result file', () => {
    const l = ledger();
    expect(() => l.create(rec({ id: '../escape' }))).toThrow(ApiaryError);
    expect(peek<{ n: number }>('SELECT count(*) AS n FROM tasks')[0]!.n).toBe(0);
  });
});

describe('migrations', () => {
  it('sets user_version and does not run again on reopen', () => {
    let l = ledger();
    l.create(rec());
    const version = peek<{ user_version: number }>('PRAGMA user_version')[0]!.user_version;
    expect(version).toBe(MIGRATIONS.length);
    expect(version).toBeGreaterThanOrEqual(1);
    const created = peek<{ value: string }>("SELECT value FROM meta WHERE key = 'created_at'");
    expect(created).toHaveLength(1);

    l = reopen(l);
    expect(peek<{ user_version: number }>('PRAGMA user_version')[0]!.user_version).toBe(MIGRATIONS.length);
    expect(peek("SELECT value FROM meta WHERE key = 'created_at'")).toEqual(created);
    expect(peek<{ n: number }>('SELECT count(*) AS n FROM tasks')[0]!.n).toBe(1);
    expect(peek<{ journal_mode: string }>('PRAGMA journal_mode')[0]!.journal_mode).toBe('wal');
  });

  it('runs only the steps past the current version, each at most once', () => {
    const db = new Database(join(dir, 'm.db'));
    try {
      const steps = [
        { version: 1, up: 'CREATE TABLE runs (v INTEGER); INSERT INTO runs VALUES (1);' },
        { version: 2, up: 'INSERT INTO runs VALUES (2);' },
      ];
      expect(migrate(db, steps.slice(0, 1))).toBe(1);
      expect(migrate(db, steps)).toBe(2);
      expect(migrate(db, steps)).toBe(2);
      expect(db.prepare('SELECT v FROM runs ORDER BY v').pluck().all()).toEqual([1, 2]);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('rolls back a failing step with its version', () => {
    const db = new Database(join(dir, 'm.db'));
    try {
      const steps = [
        { version: 1, up: 'CREATE TABLE a (x);' },
        { version: 2, up: 'CREATE TABLE b (x); INSERT INTO nowhere VALUES (1);' },
      ];
      expect(() => migrate(db, steps)).toThrow(/nowhere/);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()).toEqual(['a']);
    } finally {
      db.close();
    }
  });

  it('refuses a database from a newer schema', () => {
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openQueenDb(file)).toThrow(ApiaryError);
    expect(() => openQueenDb(file)).toThrow(/newer|knows up to/);
  });
});
