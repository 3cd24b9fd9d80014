import type { TaskLimits, TaskSpec } from '@apiary/protocol';
import type { TaskRecord } from './ledger.js';
import { newTaskId } from './task-id.js';

export interface SubmitOptions {
  /** Place only on hives that read the queen's data root in place (see TaskRecord.onQueenFs). */
  onQueenFs?: boolean;
}

/** A submitted task's first record: queued, no attempts yet. */
export function newTaskRecord(spec: TaskSpec, limits: TaskLimits, opts: SubmitOptions, defaultMaxAttempts: number): TaskRecord {
  return {
    ...(opts.onQueenFs ? { onQueenFs: true } : {}),
    id: newTaskId(),
    spec,
    limits,
    state: 'queued',
    createdAt: Date.now(),
    finishedAt: null,
    maxAttempts: limits.maxAttempts ?? defaultMaxAttempts,
    attempts: [],
    value: null,
    error: null,
  };
}
