import { ApiaryError, ERRORS, type ErrorCode } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor, TaskFailedError, UsageError } from '../src/errors.js';

// The exit codes are declared once, in the protocol's error table (which specs/errors.md is checked against).
describe('keeper exit codes follow the error table', () => {
  it.each(Object.keys(ERRORS) as ErrorCode[])('%s', (code) => {
    expect(exitCodeFor(new ApiaryError(code, 'x'))).toBe(ERRORS[code].keeperExit);
    expect(exitCodeFor(new TaskFailedError({ code, message: 'x' }))).toBe(ERRORS[code].keeperExit);
  });

  it('a wrong command line exits 2, so a shell can tell it from a failed task', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.USAGE);
    expect(EXIT.USAGE).toBe(2);
  });

  it('an error with no code, or a code this keeper does not know (from a newer queen), exits 1', () => {
    expect(exitCodeFor(new Error('x'))).toBe(EXIT.TASK_FAILED);
    expect(exitCodeFor(new TaskFailedError({ code: 'NOT_A_CODE' as ErrorCode, message: 'x' }))).toBe(EXIT.TASK_FAILED);
  });
});
