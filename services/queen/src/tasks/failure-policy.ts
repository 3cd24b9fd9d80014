import { shouldRetry } from '@apiary/behaviours';
import type { WireError } from '@apiary/protocol';
import type { TaskRecord } from './ledger.js';

/** How a task ends after a failed attempt; null: it goes back in the queue for another try. */
export type FailureEnd = { state: 'failed' | 'abandoned'; error: WireError } | null;

/**
 * What a failed attempt (its error already recorded on it) means for the task: a retryable failure
 * (the colony's fault) is tried again until the attempts run out, then TASK_ABANDONED with every
 * attempt's diagnostics; a user error is final unless the task opted in with retryUserErrors.
 */
export function afterFailure(t: TaskRecord, attempt: number, error: WireError): FailureEnd {
  const decision = shouldRetry(error.code, attempt, t.maxAttempts, t.limits.retryUserErrors === true);
  if (decision === 'fail') return { state: 'failed', error };
  if (decision !== 'abandon') return null;
  const summary = t.attempts.map((x) => `#${x.attempt} ${x.error?.code ?? '?'} on ${x.hive}/bee-${x.bee}`).join(', ');
  return {
    state: 'abandoned',
    error: {
      code: 'TASK_ABANDONED',
      message: `abandoned after ${attempt} attempts (${summary}); last: ${error.message}`,
      details: { lastCode: error.code },
    },
  };
}
