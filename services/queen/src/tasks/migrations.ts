import type { Database } from 'better-sqlite3';
import { ApiaryError } from '@apiary/protocol';

/** One schema step. Versions run 1, 2, 3… in order; a shipped migration is never edited, only followed. */
export interface Migration {
  version: number;
  up: string;
  /** Run after the step's transaction commits: statements SQLite refuses inside one (VACUUM). Must be idempotent. */
  afterCommit?: string;
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
  {
    version: 3,
    up: `
      -- The frame catalog. A frame's current version is its highest; a write adds one version in
      -- one transaction, after all its cells are in place. Cells are never rewritten.
      CREATE TABLE frames (
        name       TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE frame_versions (
        frame      TEXT NOT NULL REFERENCES frames (name) ON DELETE CASCADE,
        version    INTEGER NOT NULL,
        mode       TEXT NOT NULL CHECK (mode IN ('append', 'overwrite')),
        created_at INTEGER NOT NULL,
        row_count  INTEGER NOT NULL,  -- of the whole version, not only what the write added
        byte_count INTEGER NOT NULL,
        schema     TEXT NOT NULL,     -- JSON [{ name, type }]
        write_id   TEXT NOT NULL,
        PRIMARY KEY (frame, version)
      ) WITHOUT ROWID;

      CREATE TABLE cells (
        id         TEXT PRIMARY KEY NOT NULL,
        frame      TEXT NOT NULL REFERENCES frames (name) ON DELETE CASCADE,
        path       TEXT NOT NULL UNIQUE,  -- relative to the data root
        row_count  INTEGER NOT NULL,
        byte_count INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        stats      TEXT NOT NULL,         -- JSON { column: { min, max, null_count } }
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX cells_frame ON cells (frame);

      -- Which cells make up each version (an append carries the previous version's cells over).
      CREATE TABLE version_cells (
        frame   TEXT NOT NULL,
        version INTEGER NOT NULL,
        cell_id TEXT NOT NULL REFERENCES cells (id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,         -- cell order within the version
        PRIMARY KEY (frame, version, cell_id),
        FOREIGN KEY (frame, version) REFERENCES frame_versions (frame, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX version_cells_cell ON version_cells (cell_id);
    `,
  },
  {
    version: 4,
    up: `
      -- A task's captured stdout/stderr per attempt (the last 64 KiB; see specs/lifecycle.md).
      ALTER TABLE attempts ADD COLUMN output TEXT;
      -- Retention prunes finished tasks oldest first, by finish time.
      CREATE INDEX tasks_finished ON tasks (finished_at, seq) WHERE finished_at IS NOT NULL;
      -- Pages freed by pruning go back to the file system in small steps (PRAGMA incremental_vacuum).
      -- An existing database only switches mode with a VACUUM, which cannot run in a transaction.
      PRAGMA auto_vacuum = INCREMENTAL;
    `,
    afterCommit: 'VACUUM',
  },
  {
    version: 5,
    up: `
      -- The attempt token sent with each dispatch (<queen epoch>.<attempt>.<random>, see specs/protocol.md):
      -- results are accepted only with the current attempt's token. The epoch counter lives in meta.
      ALTER TABLE attempts ADD COLUMN token TEXT;
      INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', '0');
    `,
  },
  {
    version: 6,
    up: `
      -- Scoped API tokens (keeper token create/list/revoke): only the sha256 of each secret is kept.
      CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY NOT NULL,
        name         TEXT NOT NULL,
        scope        TEXT NOT NULL CHECK (scope IN ('admin', 'submit', 'read')),
        hash         BLOB NOT NULL,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
      ) WITHOUT ROWID;

      -- Idempotency-Key on task submission: a retry with the same key (per token) gets the same task ids.
      -- Written in the transaction that creates the tasks, so a crash cannot separate the two.
      CREATE TABLE idempotency_keys (
        token_id     TEXT NOT NULL,
        key          TEXT NOT NULL,
        request_hash TEXT NOT NULL,   -- sha256 of route + body: the same key with another body is refused
        task_ids     TEXT NOT NULL,   -- JSON array, in submission order
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (token_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
  {
    version: 7,
    up: `
      -- (state, created_at) moved every task's entry at each state change (queued -> running ->
      -- succeeded): ~3 of the ~15 WAL pages per commit under load (issue 10). Partial indexes hold only
      -- what the queries need: live tasks (the queen's restart, listings of queued/running), and the
      -- finished tasks that did not succeed (listings of failed/abandoned/cancelled). Listing
      -- succeeded tasks walks tasks_created newest first; most finished tasks are succeeded ones.
      DROP INDEX tasks_state_created;
      CREATE INDEX tasks_live ON tasks (created_at) WHERE state IN ('queued', 'running');
      CREATE INDEX tasks_unsucceeded ON tasks (state, created_at) WHERE state NOT IN ('queued', 'running', 'succeeded');
    `,
  },
  {
    version: 8,
    up: `
      -- An IN list of three or more values is evaluated through a temporary B-tree built each time:
      -- version 7's predicate built and dropped one on every UPDATE of a task (seen as 20,000
      -- temporary B-trees for 4,000 tasks). Two values and a comparison are plain comparisons.
      DROP INDEX tasks_unsucceeded;
      CREATE INDEX tasks_unsucceeded ON tasks (state, created_at) WHERE state NOT IN ('queued', 'running') AND state <> 'succeeded';
    `,
  },
  {
    version: 9,
    up: `
      -- The ledger keeps created_at non-decreasing in creation order (SqliteLedger.createMany), so
      -- the newest tasks are the highest seq: listings walk the table itself backwards, and every
      -- create no longer adds an entry (and, per commit, a WAL page) to this index (issue 10).
      DROP INDEX tasks_created;
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
    if (m.afterCommit) db.exec(m.afterCommit);
  }
  return latest;
}
