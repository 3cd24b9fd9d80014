import { defineConfig } from 'vitest/config';

// Tests start real queens, hives and bees (several Node processes each) on a 2-core machine:
// files run one at a time so that the timing guarantees they check are not starved of CPU.
export default defineConfig({
  test: {
    include: ['shared/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    env: { APIARY_LOG_LEVEL: process.env.APIARY_LOG_LEVEL ?? 'warn' },
  },
});
