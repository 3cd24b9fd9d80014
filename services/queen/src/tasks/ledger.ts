import { ApiaryError, type AttemptView, type TaskLimits, type TaskSpec, type TaskState, type TaskValue, type TaskView, type WireError } from '@apiary/protocol';

/** One task as the queen keeps it. */
export interface TaskRecord {
  id: string;
  spec: TaskSpec;
  limits: TaskLimits;
  state: TaskState;
  createdAt: number;
  finishedAt: number | null;
  maxAttempts: number;
  attempts: AttemptView[];
  value: TaskValue | null;
  error: WireError | null;
  /** Must run on a hive that sees the queen's filesystem (writes, globs, results into the data root). Not persisted. */
  onQueenFs?: boolean;
}

/** Which tasks `list` returns: newest first, optionally in one state. */
export interface ListFilter {
  state?: TaskState;
  limit: number;
}

/**
 * The task ledger: every task is recorded here before it is acknowledged. This in-memory one serves
 * ephemeral queens; the durable SQLite one (sqlite-ledger.ts) takes the same interface for the daemon.
 *
 * The scheduler mutates records in place and then calls update(), so get() returns the same object
 * for a task for as long as it is queued or running.
 */
export interface TaskLedger {
  /** This queen's epoch (see epoch.ts): 1 for a ledger that does not outlive the queen. */
  readonly epoch: number;
  /** Record a new task; throws if its id is taken. */
  create(rec: TaskRecord): void;
  /** Record a batch: all or none (a taken id fails the whole batch). */
  createMany(recs: TaskRecord[]): void;
  get(id: string): TaskRecord | undefined;
  /** Persist a change to a record (state, attempts, result). */
  update(rec: TaskRecord): void;
  /** Newest first (createdAt, then creation order). */
  list(filter: ListFilter): TaskRecord[];
  /** Queued and running tasks, oldest first (createdAt, then creation order). */
  nonTerminal(): TaskRecord[];
  /** Commit every pending update before returning (the scheduler does before it sends assigns and acks). */
  flush(): void;
  /** Updates not committed yet (written behind); always 0 for a ledger that writes nothing. */
  readonly pendingUpdates: number;
  close(): void;
}

export function isLive(t: TaskRecord): boolean {
  return t.state === 'queued' || t.state === 'running';
}

export class MemoryLedger implements TaskLedger {
  // Map order is creation order.
  readonly #tasks = new Map<string, TaskRecord>();
  readonly epoch = 1;
  readonly pendingUpdates = 0;

  create(rec: TaskRecord): void {
    this.createMany([rec]);
  }

  createMany(recs: TaskRecord[]): void {
    const ids = new Set<string>();
    for (const r of recs) {
      if (this.#tasks.has(r.id) || ids.has(r.id)) throw new ApiaryError('INTERNAL', `task id ${r.id} already exists`);
      ids.add(r.id);
    }
    for (const r of recs) this.#tasks.set(r.id, r);
  }

  get(id: string): TaskRecord | undefined {
    return this.#tasks.get(id);
  }

  update(_rec: TaskRecord): void {
    // records are held by reference: nothing to write
  }

  flush(): void {
    // nothing is ever pending
  }

  list(filter: ListFilter): TaskRecord[] {
    const all = [...this.#tasks.values()].reverse();
    const hits = filter.state === undefined ? all : all.filter((t) => t.state === filter.state);
    // Stable sort: equal createdAt stays newest-created first.
    return hits.sort((a, b) => b.createdAt - a.createdAt).slice(0, filter.limit);
  }

  nonTerminal(): TaskRecord[] {
    return [...this.#tasks.values()].filter(isLive).sort((a, b) => a.createdAt - b.createdAt);
  }

  close(): void {
    this.#tasks.clear();
  }
}

export function toView(t: TaskRecord): TaskView {
  return {
    id: t.id,
    state: t.state,
    kind: t.spec.kind,
    createdAt: t.createdAt,
    finishedAt: t.finishedAt,
    attempts: t.attempts,
    value: t.value,
    error: t.error,
  };
}
