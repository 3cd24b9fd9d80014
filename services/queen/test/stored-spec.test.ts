import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/tasks/ledger.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import { openQueenDb } from '../src/db/queen-db.js';
import { newTaskRecord } from '../src/tasks/new-task.js';

let dir: string;
let db: Database.Database;
let ledger: SqliteLedger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-stored-spec-'));
  db = openQueenDb(join(dir, 'queen.db'));
  ledger = new SqliteLedger({ db, resultsDir: join(dir, 'results') });
});
afterEach(() => {
  ledger.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  expect(existsSync(dir)).toBe(false);
});

/** A plan task as a frame query makes it: the catalog slice of its frame (cells with statistics). */
function planTask(id: string, cells: number): TaskRecord {
  const catalog = [
    {
      name: 'sales',
      columns: [{ name: 'x', type: 'BIGINT' }],
      cells: Array.from({ length: cells }, (_, i) => ({
        path: `/data/frames/sales/cells/c${i}.parquet`,
        bytes: 1000,
        rows: 10,
        stats: { x: { min: i, max: i + 9, null_count: 0 } },
      })),
    },
  ];
  const spec = {
    kind: 'plan' as const,
    sql: 'SELECT sum(x) FROM sales',
    catalog,
    frames: [{ frame: 'sales', version: 7 }],
    bees: 2,
    targetBytesPerGroup: 1 << 20,
  };
  return { ...newTaskRecord(spec, {}, {}, 3), id };
}

describe('plan tasks in the ledger', () => {
  it('are stored with their frame references, not a copy of the catalog', () => {
    const t = planTask('plan-1', 2000);
    ledger.create(t);
    // The live record still has its catalog: the bee gets it with the assign.
    expect((ledger.get('plan-1')!.spec as { catalog: unknown[] }).catalog).toHaveLength(1);
    const db = new Database(join(dir, 'queen.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT spec FROM tasks WHERE id = ?').get('plan-1') as { spec: string };
      const stored = JSON.parse(row.spec);
      expect(stored).toMatchObject({ kind: 'plan', catalog: [], frames: [{ frame: 'sales', version: 7 }], sql: 'SELECT sum(x) FROM sales' });
      // 2,000 cells' statistics would be ~200 KB; the stored spec is a few hundred bytes.
      expect(row.spec.length).toBeLessThan(500);
    } finally {
      db.close();
    }
  });
});
