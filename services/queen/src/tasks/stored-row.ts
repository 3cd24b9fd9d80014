import type { AttemptView, TaskState, TaskValue, WireError } from '@apiary/protocol';
import type { TaskRecord } from './ledger.js';

/**
 * What a task's row in the ledger holds, as last written (or read): the ledger compares a record with
 * it to write only what changed. `bytes` is the stored value's size (for the finished-task cache).
 */
export interface StoredRow {
  state: TaskState;
  finishedAt: number | null;
  maxAttempts: number;
  error: WireError | null;
  value: TaskValue | null;
  bytes: number;
}

export function storedRow(r: TaskRecord, bytes: number): StoredRow {
  return { state: r.state, finishedAt: r.finishedAt, maxAttempts: r.maxAttempts, error: r.error, value: r.value, bytes };
}

/**
 * A task's state from its row and its attempts. An assign does not rewrite the task's row (issue 10:
 * one UPDATE and its page per task saved): its new attempt row, with no error yet, is what says it
 * runs. So a row still 'queued' whose last attempt is open is running. Every attempt that ends
 * without ending the task (a retry) carries its error, and every end of the task rewrites the row.
 */
export function stateOf(rowState: TaskState, attempts: readonly AttemptView[]): TaskState {
  return rowState === 'queued' && attempts.length > 0 && attempts[attempts.length - 1]!.error === null ? 'running' : rowState;
}

/** The row already says what the record does (its state read through stateOf): only its attempts need writing. */
export function rowCurrent(s: StoredRow, r: TaskRecord): boolean {
  return (
    s.value === r.value && s.finishedAt === r.finishedAt && s.maxAttempts === r.maxAttempts && s.error === r.error && stateOf(s.state, r.attempts) === r.state
  );
}
