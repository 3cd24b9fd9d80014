import type { ParseArgsConfig } from 'node:util';

/** Flags every running command shares (a module of its own: the early start reads them before args.ts loads). */
export const COMMON_OPTIONS = {
  bees: { type: 'string' },
  'memory-per-bee': { type: 'string' },
  timeout: { type: 'string' },
  grace: { type: 'string' },
  queen: { type: 'string' },
  cluster: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];
