import type { Database } from 'better-sqlite3';

/**
 * The queen's epoch: a counter in the ledger's meta table, bumped (and committed) once each time a
 * queen opens the ledger. Attempt tokens start with it, so a token from an earlier queen can never
 * be mistaken for one this queen sent, even for the same task and attempt number.
 */
export function bumpEpoch(db: Database): number {
  return db
    .transaction(() => {
      db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', '0')").run();
      db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'epoch'").run();
      const row = db.prepare("SELECT value FROM meta WHERE key = 'epoch'").get() as { value: string };
      return Number(row.value);
    })
    .immediate();
}
