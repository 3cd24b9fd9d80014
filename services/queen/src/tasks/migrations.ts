import type { Database } from 'better-sqlite3';
import { ApiaryError } from '@apiary/protocol';

/** One schema step. Versions run 1, 2, 3… in order; a shipped migration is never edited, only followed. */
export interface Migration {
  version: number;
  up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

      -- seq is the rowid: creation order for free, and every index carries it as a tie-break.
      -- Tasks are never deleted, so without AUTOINCREMENT it still only grows.
      CREATE TABLE tasks (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL,
        spec         TEXT NOT NULL,   -- JSON
        limits       TEXT NOT NULL,   -- JSON
        state        TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        max_attempts INTEGER NOT NULL,
        value        TEXT,            -- JSON, when small enough to keep inline
        value_file   TEXT,            -- else its file name under the results directory
        error        TEXT             -- JSON
      );
      CREATE INDEX tasks_state_created ON tasks (state, created_at);
      CREATE INDEX tasks_created ON tasks (created_at);

      CREATE TABLE attempts (
        task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        attempt     INTEGER NOT NULL,
        hive        TEXT NOT NULL,
        bee         INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        error       TEXT,             -- JSON
        PRIMARY KEY (task_id, attempt)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    up: `
      -- The cluster's node registry, kept by \`keeper cluster up\`: one row per host.
      CREATE TABLE nodes (
        name        TEXT PRIMARY KEY NOT NULL,
        address     TEXT NOT NULL,
        port        INTEGER NOT NULL,
        user        TEXT NOT NULL,
        key_path    TEXT NOT NULL,
        install_dir TEXT NOT NULL,
        labels      TEXT NOT NULL,   -- JSON
        last_seen   INTEGER,
        last_error  TEXT
      ) WITHOUT ROWID;
    `,
  },
];

/**
 * Bring the database up to the last migration. Each step runs in its own transaction together with
 * its `PRAGMA user_version` bump, so a failed step leaves the schema at the previous version.
 * Returns the version reached.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new ApiaryError('INTERNAL', `migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length;
  if (current > latest) {
    // Written by a newer queen: running on would misread its rows.
    throw new ApiaryError('INTERNAL', `task ledger schema is version ${current}; this queen knows up to ${latest}`, { current, latest });
  }
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return latest;
}
