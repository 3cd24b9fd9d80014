import { ApiaryError, RETRYABLE_CODES, type ErrorCode, USER_ERROR_CODES } from '@apiary/protocol';

/**
 * Task abandonment (see BRIEF "Behaviours"): a failed attempt is retried while attempts remain if
 * the failure was the colony's fault (RETRYABLE_CODES: retry 'colony' in the protocol's error
 * table, e.g. BEE_MEMORY_EXCEEDED, HIVE_LOST). A user error (USER_ERROR_CODES: retry 'user', e.g.
 * SQL_ERROR) is final unless the task opted in to retrying user errors. Every other failure (cancelled, module not found, bad result, …) is
 * final. When attempts run out on a retryable failure the task is abandoned (TASK_ABANDONED with
 * every attempt's diagnostics); a task that asked for a single attempt fails with its original
 * error instead. Pure: no I/O.
 */

export type RetryDecision = 'retry' | 'fail' | 'abandon';

/** Default number of attempts in all (the first one included). */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Errors caused by the task itself; retried only when the task opts in (`retryUserErrors`). From the error table. */
export { USER_ERROR_CODES };

/** Whether a failure with `code` is worth another attempt at all (attempt counts aside). */
export function isRetryableCode(code: ErrorCode, retryUserErrors = false): boolean {
  return RETRYABLE_CODES.has(code) || (retryUserErrors && USER_ERROR_CODES.has(code));
}

/**
 * What to do after attempt number `attempt` (1-based) failed with `code`, for a task allowed
 * `maxAttempts` attempts in all:
 * - 'fail'    — final, report the original error: the code is not retryable, or maxAttempts is 1;
 * - 'retry'   — retryable and attempt < maxAttempts (prefer another bee, then another hive);
 * - 'abandon' — retryable but attempts are spent: TASK_ABANDONED with the diagnostics.
 */
export function shouldRetry(code: ErrorCode, attempt: number, maxAttempts: number, retryUserErrors = false): RetryDecision {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ApiaryError('CONFIG_INVALID', `maxAttempts must be a whole number ≥ 1, got ${maxAttempts}`);
  }
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`shouldRetry: attempt must be a whole number ≥ 1, got ${attempt}`);
  }
  if (!isRetryableCode(code, retryUserErrors) || maxAttempts === 1) return 'fail';
  return attempt < maxAttempts ? 'retry' : 'abandon';
}
