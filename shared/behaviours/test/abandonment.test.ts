import { describe, expect, it } from 'vitest';
import { ApiaryError, ErrorCodes, RETRYABLE_CODES, type ErrorCode } from '@apiary/protocol';
import { DEFAULT_MAX_ATTEMPTS, USER_ERROR_CODES, isRetryableCode, shouldRetry } from '../src/index.js';

const RETRYABLE: ErrorCode[] = ['BEE_MEMORY_EXCEEDED', 'TASK_TIMEOUT', 'HIVE_LOST', 'BEE_CRASHED', 'CELL_FETCH_FAILED'];
const USER: ErrorCode[] = ['SQL_ERROR', 'TASK_FAILED'];
const ALL = Object.keys(ErrorCodes) as ErrorCode[];
const NEVER = ALL.filter((c) => !RETRYABLE.includes(c) && !USER.includes(c));

describe('retry policy', () => {
  it('defaults to 3 attempts in all and uses the protocol retryable set', () => {
    expect(DEFAULT_MAX_ATTEMPTS).toBe(3);
    expect([...RETRYABLE_CODES].sort()).toEqual([...RETRYABLE].sort());
    expect([...USER_ERROR_CODES].sort()).toEqual([...USER].sort());
  });

  it.each(RETRYABLE)('%s: retry, retry, then abandon (3 attempts)', (code) => {
    expect(shouldRetry(code, 1, 3)).toBe('retry');
    expect(shouldRetry(code, 2, 3)).toBe('retry');
    expect(shouldRetry(code, 3, 3)).toBe('abandon');
    expect(shouldRetry(code, 4, 3)).toBe('abandon'); // past the limit (e.g. lowered meanwhile)
  });

  it.each(RETRYABLE)('%s with maxAttempts 1 fails with the original error, never abandons', (code) => {
    expect(shouldRetry(code, 1, 1)).toBe('fail');
    expect(shouldRetry(code, 1, 1, true)).toBe('fail');
  });

  it.each(RETRYABLE)('%s with maxAttempts 2: retry then abandon', (code) => {
    expect(shouldRetry(code, 1, 2)).toBe('retry');
    expect(shouldRetry(code, 2, 2)).toBe('abandon');
  });

  it.each(USER)('%s is final by default', (code) => {
    expect(isRetryableCode(code)).toBe(false);
    expect(shouldRetry(code, 1, 3)).toBe('fail');
    expect(shouldRetry(code, 2, 3)).toBe('fail');
    expect(shouldRetry(code, 3, 3)).toBe('fail');
  });

  it.each(USER)('%s is retried when the task opts in', (code) => {
    expect(isRetryableCode(code, true)).toBe(true);
    expect(shouldRetry(code, 1, 3, true)).toBe('retry');
    expect(shouldRetry(code, 2, 3, true)).toBe('retry');
    expect(shouldRetry(code, 3, 3, true)).toBe('abandon');
    expect(shouldRetry(code, 1, 1, true)).toBe('fail');
  });

  it.each(NEVER)('%s is never retried, even with the opt-in', (code) => {
    expect(isRetryableCode(code, true)).toBe(false);
    expect(shouldRetry(code, 1, 3)).toBe('fail');
    expect(shouldRetry(code, 1, 3, true)).toBe('fail');
    expect(shouldRetry(code, 3, 3, true)).toBe('fail');
  });

  it('never retries a cancelled task or a broken module', () => {
    for (const code of ['TASK_CANCELLED', 'TASK_MODULE_NOT_FOUND', 'TASK_EXPORT_NOT_FOUND', 'TASK_RESULT_INVALID', 'TASK_ABANDONED'] as const) {
      expect(NEVER).toContain(code);
    }
  });

  it('refuses invalid attempt counts', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => shouldRetry('TASK_TIMEOUT', 1, bad)).toThrow(ApiaryError);
      expect(() => shouldRetry('TASK_TIMEOUT', bad, 3)).toThrow(RangeError);
    }
    try {
      shouldRetry('TASK_TIMEOUT', 1, 0);
    } catch (e) {
      expect((e as ApiaryError).code).toBe('CONFIG_INVALID');
    }
  });
});
