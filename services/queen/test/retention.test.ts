import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@apiary/runtime';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { MIGRATIONS, migrate } from '../src/tasks/migrations.js';
import { RetentionRunner } from '../src/tasks/retention-runner.js';
import { PRUNE_BATCH } from '../src/tasks/retention.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import { openQueenDb } from '../src/db/queen-db.js';

let dir: string;
let file: string;
let resultsDir: string;
let ledger: SqliteLedger;
let queenDb: Database.Database;
let seq = 0;
const DAY = 86_400_000;
/** A result bigger than inlineResultMaxBytes below: it is written to a file under resultsDir. */
const BIG = 'x'.repeat(2000);
const log = createLogger('test', () => {});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-retention-'));
  file = join(dir, 'queen.db');
  resultsDir = join(dir, 'results');
  queenDb = openQueenDb(file);
  ledger = new SqliteLedger({ db: queenDb, resultsDir, inlineResultMaxBytes: 1000 });
});

afterEach(() => {
  ledger.close();
  queenDb.close();
  rmSync(dir, { recursive: true, force: true });
  expect(existsSync(dir)).toBe(false);
});

function finished(finishedAt: number, big = false): TaskRecord {
  seq++;
  return {
    id: `task-${seq}`,
    spec: { kind: 'sql', sql: `select ${seq}` },
    limits: {},
    state: 'succeeded',
    createdAt: finishedAt - 10,
    finishedAt,
    maxAttempts: 3,
    attempts: [{ attempt: 1, hive: 'h#1', bee: 0, startedAt: finishedAt - 5, durationMs: 5, error: null }],
    value: { kind: 'js', value: big ? BIG : seq },
    error: null,
  };
}

function live(state: 'queued' | 'running', createdAt: number): TaskRecord {
  seq++;
  const attempts = state === 'running' ? [{ attempt: 1, hive: 'h#1', bee: 0, startedAt: createdAt, durationMs: 0, error: null }] : [];
  return {
    id: `task-${seq}`,
    spec: { kind: 'sql', sql: 'select 1' },
    limits: {},
    state,
    createdAt,
    finishedAt: null,
    maxAttempts: 3,
    attempts,
    value: null,
    error: null,
  };
}

/** Rows actually in the database file, read through a second connection (not the ledger's caches). */
function rowsOnDisk(): { tasks: string[]; attempts: number } {
  const db = new Database(file, { readonly: true });
  try {
    const tasks = (db.prepare('SELECT id FROM tasks ORDER BY seq').all() as { id: string }[]).map((r) => r.id);
    const attempts = (db.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n;
    return { tasks, attempts };
  } finally {
    db.close();
  }
}

describe('retention', () => {
  it('keeps the newest maxTasks finished tasks; the older ones go with their attempts and result files; live tasks stay', () => {
    const now = Date.now();
    // Live tasks older than every finished one: age and count must never select them.
    const old = [live('queued', now - 30 * DAY), live('running', now - 30 * DAY)];
    const done = Array.from({ length: 30 }, (_, i) => finished(now - 1000 + i, true));
    ledger.createMany([...old, ...done]);
    const filesBefore = readdirSync(resultsDir);
    expect(filesBefore).toHaveLength(30);

    const n = ledger.pruneBatch({ maxAgeMs: 30 * DAY, maxTasks: 10 }, now, 1000);

    expect(n).toBe(20);
    const kept = done.slice(20).map((t) => t.id);
    expect(rowsOnDisk().tasks).toEqual([...old.map((t) => t.id), ...kept]);
    // One attempt per finished task kept, plus the running task's.
    expect(rowsOnDisk().attempts).toBe(11);
    // The pruned tasks' files are really gone; the kept ones' are still there.
    expect(readdirSync(resultsDir).sort()).toEqual(kept.map((id) => `${id}.json`).sort());
    for (const t of done.slice(0, 20)) expect(ledger.get(t.id)).toBeUndefined();
    expect(ledger.get(kept[0]!)?.value).toEqual({ kind: 'js', value: BIG });
    expect(ledger.get(old[1]!.id)?.state).toBe('running');
  });

  it('prunes finished tasks older than maxAgeMs whatever the count, never queued or running ones however old', () => {
    const now = Date.now();
    const stale = [finished(now - 3 * DAY), finished(now - 2 * DAY - 1)];
    const fresh = [finished(now - 2 * DAY + 1000), finished(now - 1000)];
    const ancientLive = [live('queued', now - 100 * DAY), live('running', now - 100 * DAY)];
    ledger.createMany([...ancientLive, ...stale, ...fresh]);

    expect(ledger.pruneBatch({ maxAgeMs: 2 * DAY, maxTasks: 1000 }, now, 1000)).toBe(2);
    expect(rowsOnDisk().tasks).toEqual([...ancientLive, ...fresh].map((t) => t.id));
    // maxTasks 0 with age 0: every finished task goes, the live ones still stay.
    expect(ledger.pruneBatch({ maxAgeMs: 0, maxTasks: 0 }, now, 1000)).toBe(2);
    expect(rowsOnDisk().tasks).toEqual(ancientLive.map((t) => t.id));
  });

  it('a task finished in memory but not yet written is judged by its written state after the flush', () => {
    const now = Date.now();
    const t = live('running', now - 10 * DAY);
    ledger.create(t);
    t.state = 'succeeded';
    t.finishedAt = now - 5 * DAY;
    t.value = { kind: 'js', value: 1 };
    ledger.update(t); // pending in the write-behind window
    expect(ledger.pruneBatch({ maxAgeMs: DAY, maxTasks: 1000 }, now, 1000)).toBe(1);
    expect(rowsOnDisk().tasks).toEqual([]);
  });

  it('the runner prunes a backlog larger than one batch, and the database file shrinks after the vacuum', async () => {
    const now = Date.now();
    const total = PRUNE_BATCH * 3 + 7;
    // ~1.5 KiB inline values: megabytes of pages for the vacuum to hand back.
    const pad = 'y'.repeat(900);
    for (let i = 0; i < total; i += 500) {
      const batch = Array.from({ length: Math.min(500, total - i) }, (_, j) => {
        const t = finished(now - DAY + i + j);
        t.value = { kind: 'js', value: `${pad}${i + j}` };
        return t;
      });
      ledger.createMany(batch);
    }
    ledger.vacuum(); // checkpoint: the file now holds every page
    const grown = statSync(file).size;
    const runner = new RetentionRunner(ledger, { maxAgeMs: 30 * DAY, maxTasks: 5 }, 60_000, log);
    const r = await runner.run();
    expect(r.pruned).toBe(total - 5);
    expect(rowsOnDisk().tasks).toHaveLength(5);
    const after = statSync(file).size;
    // What was freed went back to the file system: the file is a fraction of what it was (not just reusable pages).
    expect(after).toBeLessThan(grown / 4);
    // The WAL was reset too, so queen.db-wal does not keep the size of the biggest burst.
    expect(statSync(`${file}-wal`).size).toBe(0);
    runner.stop();
  });

  it('a database created before migration 4 is converted to incremental auto_vacuum', () => {
    const legacy = join(dir, 'legacy.db');
    const db = new Database(legacy);
    db.pragma('journal_mode = WAL');
    migrate(db, MIGRATIONS.slice(0, 3));
    db.prepare("INSERT INTO nodes VALUES ('n', 'a', 22, 'u', 'k', 'd', '{}', NULL, NULL)").run();
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
    db.close();
    // The conversion is part of migration 4 (its VACUUM after commit), run when the queen opens the file.
    const converted = openQueenDb(legacy);
    try {
      expect((converted.prepare('SELECT count(*) AS n FROM nodes').get() as { n: number }).n).toBe(1);
      expect(converted.pragma('auto_vacuum', { simple: true })).toBe(2);
    } finally {
      converted.close();
    }
    // A fresh file goes through it too.
    expect(queenDb.pragma('auto_vacuum', { simple: true })).toBe(2);
  });
});
