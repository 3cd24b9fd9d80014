import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectWhenIdle } from '@apiary/runtime';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import { openQueenDb } from '../src/db/queen-db.js';

// The queen's idle memory (issue 14): once quiet it drops its finished-task cache and SQLite's page
// cache (SqliteLedger.dropCache, called from collectWhenIdle's onQuiet in main.ts). Real SQLite file.

const CHECK_MS = 100;
// The hook runs at the first quiet interval; on a loaded machine timers are late by seconds, so the
// bound only catches a hang.
const WAIT_MS = CHECK_MS * 10 + 10_000;

let dir: string;
let db: Database.Database;
let ledger: SqliteLedger;
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-ledger-idle-'));
  db = openQueenDb(join(dir, 'queen.db'));
  ledger = new SqliteLedger({ db, resultsDir: join(dir, 'results') });
});

afterEach(() => {
  try {
    ledger.close();
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(existsSync(dir)).toBe(false);
});

function finished(): TaskRecord {
  seq++;
  const rec: TaskRecord = {
    id: `idle-${seq}`,
    spec: { kind: 'js', module: 'file:///m.mjs', export: 'f', args: { seq } },
    limits: { timeoutMs: 1000 },
    state: 'running',
    createdAt: 1_000 + seq,
    finishedAt: null,
    maxAttempts: 1,
    attempts: [],
    value: null,
    error: null,
  };
  ledger.create(rec);
  rec.state = 'succeeded';
  rec.finishedAt = 2_000 + seq;
  rec.value = { kind: 'js', value: { seq, text: `result ${seq}` } };
  ledger.update(rec);
  ledger.flush(); // written: it moves from the pending updates to the cache
  return rec;
}

describe('SqliteLedger.dropCache (idle)', () => {
  it('forgets finished tasks, which are then read back from SQLite; live tasks stay in memory', () => {
    const done = [finished(), finished(), finished()];
    const live: TaskRecord = { ...finished(), id: 'idle-live', state: 'running', finishedAt: null, value: null };
    ledger.create(live);
    // Cached: the very objects come back.
    for (const r of done) expect(ledger.get(r.id)).toBe(r);

    expect(ledger.dropCache()).toBe(4); // the three above and the finished one `live` was copied from
    for (const r of done) {
      const back = ledger.get(r.id)!;
      expect(back).not.toBe(r); // not from memory any more…
      expect(back.value).toEqual(r.value); // …but the same result, from SQLite
      expect(back.state).toBe('succeeded');
    }
    // The scheduler mutates live records in place: they are never dropped.
    expect(ledger.get('idle-live')).toBe(live);
    // Nothing cached since the reads above re-cached three: those go; then there is nothing to do.
    expect(ledger.dropCache()).toBe(3);
    expect(ledger.dropCache()).toBe(0);
  });

  it('is done by the idle hook once the process is quiet', async () => {
    const r = finished();
    expect(ledger.get(r.id)).toBe(r);
    let dropped = 0;
    const idle = collectWhenIdle({ checkMs: CHECK_MS, onQuiet: () => (dropped += ledger.dropCache()) });
    try {
      const deadline = Date.now() + WAIT_MS;
      while (dropped === 0 && Date.now() < deadline) await new Promise((w) => setTimeout(w, CHECK_MS));
      expect(dropped).toBe(1);
      const back = ledger.get(r.id)!;
      expect(back).not.toBe(r);
      expect(back.value).toEqual(r.value);
    } finally {
      idle.stop();
    }
  });
});
