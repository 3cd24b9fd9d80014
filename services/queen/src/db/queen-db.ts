import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ApiaryError } from '@apiary/protocol';
import { migrate } from '../tasks/migrations.js';

/** SQLite's page cache for the queen's connection, KiB (see openQueenDb). */
export const PAGE_CACHE_KIB = 4096;

/**
 * The daemon queen's one SQLite connection: opened here, brought to the current schema here, and
 * handed to every store that lives in it (task ledger, frame catalog, node registry, tokens,
 * idempotency keys, task output). Whoever opens it closes it, after the stores are done with it.
 */
export function openQueenDb(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  // timeout is SQLite's busy timeout: wait out a checkpoint or a reader instead of failing.
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 4 MiB of page cache instead of better-sqlite3's 16 MiB. A commit whose B-tree split renumbered
    // pages (SQLite swaps them through a temporary page number) scans the whole cache's hash table
    // at its end: 2.7% of the ledger's CPU with 16 MiB, 0.7% with 4 (issue 10). The task path's
    // pages are few and hot (right edges, live tasks); the rest is in the OS cache. A :memory:
    // database keeps every page anyway.
    if (file !== ':memory:') db.pragma(`cache_size = ${-PAGE_CACHE_KIB}`);
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e instanceof ApiaryError
      ? e
      : new ApiaryError('INTERNAL', `cannot open the queen database ${file}: ${(e as Error).message}`, undefined, { cause: e });
  }
}
