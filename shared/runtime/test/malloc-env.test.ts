import { describe, expect, it } from 'vitest';
import { MALLOC_ENV, withMallocEnv } from '../src/malloc-env.js';

describe('withMallocEnv', () => {
  it('adds the malloc defaults to a child env and keeps everything else', () => {
    expect(withMallocEnv({ PATH: '/bin', APIARY_HOME: '/h' })).toEqual({ PATH: '/bin', APIARY_HOME: '/h', ...MALLOC_ENV });
  });
  it('never overrides a value the user set (these are defaults, not policy)', () => {
    expect(withMallocEnv({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  });
});
