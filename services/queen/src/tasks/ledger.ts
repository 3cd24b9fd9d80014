import type { AttemptView, TaskLimits, TaskSpec, TaskState, TaskValue, TaskView, WireError } from '@apiary/protocol';

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
}

/**
 * The task ledger: every task is recorded here before it is acknowledged. This in-memory one serves
 * ephemeral queens; a durable SQLite one takes the same interface for the daemon.
 */
export interface TaskLedger {
  create(rec: TaskRecord): void;
  get(id: string): TaskRecord | undefined;
  /** Persist a change to a record (state, attempts, result). */
  update(rec: TaskRecord): void;
  nonTerminal(): TaskRecord[];
  close(): void;
}

export class MemoryLedger implements TaskLedger {
  readonly #tasks = new Map<string, TaskRecord>();

  create(rec: TaskRecord): void {
    this.#tasks.set(rec.id, rec);
  }

  get(id: string): TaskRecord | undefined {
    return this.#tasks.get(id);
  }

  update(_rec: TaskRecord): void {
    // records are held by reference: nothing to write
  }

  nonTerminal(): TaskRecord[] {
    return [...this.#tasks.values()].filter((t) => t.state === 'queued' || t.state === 'running');
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
