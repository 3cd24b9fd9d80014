import { expect } from 'vitest';
import { ApiaryError } from '@apiary/protocol';

/** `fn` throws an ApiaryError with code CONFIG_INVALID. */
export function configInvalid(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiaryError);
    expect((e as ApiaryError).code).toBe('CONFIG_INVALID');
    return;
  }
  expect.fail('expected CONFIG_INVALID');
}
