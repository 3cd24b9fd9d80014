import type { TaskState } from '@apiary/protocol';
import { checkedTransition, type Logger } from '@apiary/runtime';
import type { TaskRecord } from './ledger.js';

/**
 * A task's life as data, like the queen's, hive's and bee's (runtime StateMachine). queued → failed
 * is a task no connected hive can ever place (NO_HIVES); running → queued is a retry.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['queued', 'succeeded', 'failed', 'abandoned', 'cancelled'],
  succeeded: [],
  failed: [],
  abandoned: [],
  cancelled: [],
};

/**
 * Move a task to its next state: checked against TASK_TRANSITIONS (an illegal move throws) and
 * logged at debug. The state stays a field of the record (the ledger persists it; a StateMachine
 * object per task would be an allocation per task on the hot path).
 */
export function moveTask(t: TaskRecord, to: TaskState, log: Logger, why?: string): void {
  t.state = checkedTransition(`task ${t.id}`, t.state, to, TASK_TRANSITIONS, log, why);
}
