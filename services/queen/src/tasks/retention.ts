import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

/** Which finished tasks to keep: those younger than maxAgeMs, and at most the newest maxTasks of them (defaults: RETENTION_DEFAULTS in @apiary/config). */
export interface RetentionPolicy {
  maxAgeMs: number;
  maxTasks: number;
}

/**
 * Tasks deleted per transaction. Each batch holds the write lock for a few ms at most, and the
 * pruner yields to the event loop between batches, so task traffic is never stalled behind a prune.
 */
export const PRUNE_BATCH = 500;

/** What one batch removed: the task ids (for the ledger's caches) and their result files. */
export interface PrunedBatch {
  ids: string[];
  files: string[];
}

interface Candidate {
  seq: number;
  id: string;
  value_file: string | null;
}

/**
 * Deletes finished tasks past the retention policy, oldest finish first, with their attempts (ON
 * DELETE CASCADE) and their result files. Queued and running tasks are never candidates: only rows
 * in a terminal state with a finish time are selected.
 */
export class TaskPruner {
  readonly #boundary: Statement<[number], { finished_at: number; seq: number }>;
  readonly #candidates: Statement<[{ age: number; cf: number; cs: number; n: number }], Candidate>;
  readonly #delete: Statement<[number]>;
  readonly #deleteTx: (rows: Candidate[]) => void;

  constructor(
    db: Database.Database,
    private readonly resultsDir: string | null,
  ) {
    // The newest-but-maxTasks finished task: it and everything finished before it go.
    this.#boundary = db.prepare('SELECT finished_at, seq FROM tasks WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, seq DESC LIMIT 1 OFFSET ?');
    this.#candidates = db.prepare(
      `SELECT seq, id, value_file FROM tasks
       WHERE finished_at IS NOT NULL AND state NOT IN ('queued', 'running')
         AND (finished_at < @age OR finished_at < @cf OR (finished_at = @cf AND seq <= @cs))
       ORDER BY finished_at, seq LIMIT @n`,
    );
    this.#delete = db.prepare('DELETE FROM tasks WHERE seq = ?');
    this.#deleteTx = db.transaction((rows: Candidate[]) => {
      for (const r of rows) this.#delete.run(r.seq);
    }).immediate;
  }

  /** Delete up to `limit` tasks past the policy (committed), then their result files. */
  batch(policy: RetentionPolicy, now: number, limit = PRUNE_BATCH): PrunedBatch {
    const b = this.#boundary.get(policy.maxTasks);
    const rows = this.#candidates.all({ age: now - policy.maxAgeMs, cf: b?.finished_at ?? -1, cs: b?.seq ?? -1, n: limit });
    if (rows.length === 0) return { ids: [], files: [] };
    this.#deleteTx(rows);
    const files: string[] = [];
    for (const r of rows) {
      if (r.value_file === null || !this.resultsDir) continue;
      // After the commit: a crash in between leaves a stray file, never a row without its file.
      try {
        unlinkSync(join(this.resultsDir, r.value_file));
        files.push(r.value_file);
      } catch {
        // already gone, or not ours to remove: the row is what counted
      }
    }
    return { ids: rows.map((r) => r.id), files };
  }
}
