import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '@apiary/runtime';
import { openQueenDb } from '../src/db/queen-db.js';
import { AUTO_CHECKPOINT_PAGES, WalCheckpointer } from '../src/db/wal-checkpointer.js';

// The queen's WAL is checkpointed by a worker thread with its own connection (issue 10: the
// auto-checkpoint inside a commit stalled a lone task's path for 6-28 ms), at SQLite's own backlog of
// AUTO_CHECKPOINT_PAGES frames. Real SQLite file, real thread.

const EVERY_MS = 50;
// The thread's first tick is EVERY_MS after it opened the file; a loaded machine starts a worker
// thread and fires timers seconds late, so the bound only catches "never".
const WAIT_MS = EVERY_MS * 10 + 15_000;
const PAGE = 4096;

let dir: string;
let file: string;
let db: Database.Database;
let cp: WalCheckpointer | undefined;
const warnings: string[] = [];
const log = createLogger('test', (line) => warnings.push(line));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-wal-checkpointer-'));
  file = join(dir, 'queen.db');
  db = openQueenDb(file);
  warnings.length = 0;
});

afterEach(async () => {
  try {
    await cp?.stop();
  } finally {
    cp = undefined;
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(existsSync(dir)).toBe(false);
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const until = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const autoCheckpoint = () => db.pragma('wal_autocheckpoint', { simple: true }) as number;

/** Commit `pages` pages of new rows, one transaction each (as a lone task's commits come). */
function writePages(pages: number): void {
  db.exec('CREATE TABLE IF NOT EXISTS filler (b BLOB)');
  const ins = db.prepare('INSERT INTO filler (b) VALUES (?)');
  for (let i = 0; i < pages; i++) ins.run(Buffer.alloc(PAGE - 100, i & 0xff));
}

it('the thread checkpoints committed pages into the database file while the connection itself never does', async () => {
  cp = WalCheckpointer.start(db, file, log, EVERY_MS);
  await waitFor(() => autoCheckpoint() === 0, "the connection's auto-checkpoint turned off once the thread is open");
  const before = statSync(file).size;
  // Twice the thread's backlog: with the connection not checkpointing, only the thread can move
  // these pages from the WAL into the database file. It may checkpoint while they are written, so
  // only its first backlog's worth is sure to be copied (what is left after may stay below it).
  writePages(2 * AUTO_CHECKPOINT_PAGES);
  const grown = before + AUTO_CHECKPOINT_PAGES * PAGE * 0.9;
  await waitFor(() => statSync(file).size >= grown, `queen.db to grow to ${grown} bytes by checkpoints`);
  expect(warnings).toEqual([]);
});

it('once stopped (and if the thread fails) the connection checkpoints for itself again', async () => {
  cp = WalCheckpointer.start(db, file, log, EVERY_MS);
  await waitFor(() => autoCheckpoint() === 0, 'the thread open');
  await cp.stop();
  expect(autoCheckpoint()).toBe(AUTO_CHECKPOINT_PAGES);
  expect(warnings).toEqual([]);

  // A thread that cannot open its file: the connection keeps (gets back) its own auto-checkpoint, with a warning.
  cp = WalCheckpointer.start(db, join(dir, 'missing.db'), log, EVERY_MS);
  await waitFor(() => warnings.some((w) => w.includes('WAL checkpointer thread')), 'the failure warning');
  expect(autoCheckpoint()).toBe(AUTO_CHECKPOINT_PAGES);
});
