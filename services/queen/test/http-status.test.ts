import { ERRORS, type ErrorCode } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { httpStatus } from '../src/http/errors.js';

// The statuses are declared once, in the protocol's error table (which specs/errors.md is checked against).
describe('httpStatus follows the error table', () => {
  it.each(Object.keys(ERRORS) as ErrorCode[])('%s', (code) => {
    expect(httpStatus(code)).toBe(ERRORS[code].http);
  });

  it('a code this queen does not know (from a newer peer) is a 500', () => {
    expect(httpStatus('NOT_A_CODE' as ErrorCode)).toBe(500);
  });
});
