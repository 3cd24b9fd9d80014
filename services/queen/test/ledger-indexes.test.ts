import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueenDb } from '../src/db/queen-db.js';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { newTaskRecord } from '../src/tasks/new-task.js';
import { TaskPruner } from '../src/tasks/retention.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';

/*
 * Migration 7 dropped the (state, created_at) index for partial ones, migration 9 the created_at
 * one. Every read the ledger and retention prepare must still find its rows through an index, in
 * order, or walk the table newest first up to a LIMIT: no full scan of tasks and no sort of the
 * whole table for a listing.
 */

let dir: string;
let db: Database.Database;
let prepared: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-ledger-idx-'));
  db = openQueenDb(join(dir, 'queen.db'));
  // Record what the ledger and the pruner prepare, as they prepare it.
  prepared = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** EXPLAIN QUERY PLAN of a statement (parameters bound to NULL: the plan does not depend on them). */
function plan(sql: string): string[] {
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const names = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!);
  const args = names.length > 0 ? [Object.fromEntries(names.map((n) => [n, null]))] : Array((sql.match(/\?/g) ?? []).length).fill(null);
  return (stmt.all(...args) as { detail: string }[]).map((r) => r.detail);
}

function task(i: number): TaskRecord {
  return newTaskRecord({ kind: 'js', module: 'm.mjs', export: 'default', args: { i } }, {}, {}, 3);
}

describe('ledger reads after migration 7', () => {
  it('every SELECT on tasks the ledger and retention prepare uses an index, with no sort of the table', () => {
    const ledger = new SqliteLedger({ db });
    new TaskPruner(db, null);
    const selects = prepared.filter((s) => /^\s*SELECT/i.test(s) && /\bFROM tasks\b/.test(s));
    expect(selects.length).toBeGreaterThanOrEqual(7);
    for (const sql of selects) {
      const p = plan(sql);
      const onTasks = p.filter((d) => /\btasks\b/.test(d));
      expect(onTasks, sql).not.toHaveLength(0);
      // Or a walk of the table itself newest first (seq descending), which stops at the LIMIT (migration 9).
      const walksBack = /ORDER BY seq DESC LIMIT/.test(sql);
      for (const d of onTasks) expect(d, sql).toMatch(walksBack ? /^SCAN tasks$/ : /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/);
      expect(p.join('\n'), sql).not.toMatch(/TEMP B-TREE/);
    }
    // The listings each go to the index meant for them.
    const planOf = (needle: RegExp) => plan(selects.find((s) => needle.test(s))!).join('\n');
    expect(planOf(/state IN \('queued', 'running'\) ORDER BY created_at, seq/)).toMatch(/INDEX tasks_live/);
    expect(planOf(/state <> 'succeeded' ORDER BY/)).toMatch(/INDEX tasks_unsucceeded/);
    expect(planOf(/state = 'succeeded'/)).toBe('SCAN tasks');
    expect(planOf(/FROM tasks ORDER BY seq DESC/)).toBe('SCAN tasks');
    ledger.close();
  });

  it('migration 9: no tasks_created index; createdAt never goes back in creation order, also across a reopen, so the newest are the last rows', () => {
    const indexes = () =>
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'").all() as { name: string }[]).map((r) => r.name);
    expect(indexes()).not.toContain('tasks_created');
    let ledger = new SqliteLedger({ db });
    const [a, b, c] = [task(1), task(2), task(3)];
    a!.createdAt = 5_000;
    b!.createdAt = 4_000; // the clock stepped back
    c!.createdAt = 6_000;
    ledger.createMany([a!, b!]);
    ledger.create(c!);
    expect([a!.createdAt, b!.createdAt, c!.createdAt]).toEqual([5_000, 5_000, 6_000]);
    ledger.close();
    ledger = new SqliteLedger({ db });
    const d = task(4);
    d.createdAt = 1_000;
    ledger.create(d);
    expect(d.createdAt).toBe(6_000);
    expect(ledger.list({ limit: 10 }).map((t) => t.id)).toEqual([d.id, c!.id, b!.id, a!.id]);
    expect(ledger.list({ limit: 2 }).map((t) => t.createdAt)).toEqual([6_000, 6_000]);
    ledger.close();
  });

  it('no write of a task builds a temporary B-tree (an IN list of 3+ values in a partial index predicate did, per UPDATE)', () => {
    const ledger = new SqliteLedger({ db });
    const writes = prepared.filter((s) => /^\s*(INSERT|UPDATE)\b/i.test(s) && /\b(tasks|attempts)\b/.test(s));
    expect(writes.length).toBeGreaterThanOrEqual(3);
    for (const sql of writes) {
      const args = Array((sql.match(/\?/g) ?? []).length).fill(null);
      const ops = (db.prepare(`EXPLAIN ${sql}`).all(...args) as { opcode: string }[]).map((r) => r.opcode);
      expect(ops.length, sql).toBeGreaterThan(0);
      expect(ops, sql).not.toContain('OpenEphemeral');
    }
    ledger.close();
  });

  it('a task keeps one entry in the live index while queued or running, none once finished; only failures are in tasks_unsucceeded', () => {
    const ledger = new SqliteLedger({ db });
    const count = (index: string) => (db.prepare(`SELECT count(*) AS n FROM tasks INDEXED BY ${index} WHERE ${where[index]}`).get() as { n: number }).n;
    const where: Record<string, string> = {
      tasks_live: "state IN ('queued', 'running')",
      tasks_unsucceeded: "state NOT IN ('queued', 'running') AND state <> 'succeeded'",
    };
    const [a, b, c] = [task(1), task(2), task(3)];
    ledger.createMany([a!, b!, c!]);
    expect(count('tasks_live')).toBe(3);
    a!.state = 'running';
    ledger.update(a!);
    ledger.flush();
    expect(count('tasks_live')).toBe(3);
    a!.state = 'succeeded';
    b!.state = 'failed';
    for (const t of [a!, b!]) {
      t.finishedAt = Date.now();
      ledger.update(t);
    }
    ledger.flush();
    expect(count('tasks_live')).toBe(1);
    expect(count('tasks_unsucceeded')).toBe(1);
    expect(ledger.list({ state: 'queued', limit: 10 }).map((t) => t.id)).toEqual([c!.id]);
    expect(ledger.list({ state: 'failed', limit: 10 }).map((t) => t.id)).toEqual([b!.id]);
    expect(ledger.list({ state: 'succeeded', limit: 10 }).map((t) => t.id)).toEqual([a!.id]);
    expect(ledger.list({ state: 'running', limit: 10 })).toEqual([]);
    ledger.close();
  });
});
