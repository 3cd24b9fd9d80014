import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MIN_MEMORY_PER_BEE, parseDuration, parseSize, formatBytes } from '@apiary/config';
import { UsageError } from './errors.js';

/** Flags every running command shares. */
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

export interface ColonyFlags {
  /** --queen URL: use that queen instead of looking for one or starting one. */
  queen?: string;
  /** --cluster FILE: an ephemeral colony whose hives run on the file's hosts over SSH. */
  cluster?: string;
  bees?: number;
  memoryPerBeeBytes?: number;
  timeoutMs?: number;
  graceMs?: number;
  verbose: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode, with its errors turned into usage errors (exit 2). */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Validate the shared flags now, in the keeper, so a typo never starts a colony. */
export function colonyFlags(v: Record<string, unknown>): ColonyFlags {
  const out: ColonyFlags = { verbose: v.verbose === true };
  if (typeof v.queen === 'string') out.queen = v.queen;
  if (typeof v.cluster === 'string') out.cluster = v.cluster;
  if (typeof v.bees === 'string') {
    const n = Number(v.bees);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--bees: "${v.bees}" is not a whole number from 1 to 256`);
    out.bees = n;
  }
  if (typeof v['memory-per-bee'] === 'string') {
    out.memoryPerBeeBytes = asUsage(() => parseSize(v['memory-per-bee'] as string, '--memory-per-bee'));
    if (out.memoryPerBeeBytes < MIN_MEMORY_PER_BEE) {
      throw new UsageError(
        `--memory-per-bee: ${formatBytes(out.memoryPerBeeBytes)} is below the floor of ${formatBytes(MIN_MEMORY_PER_BEE)} (a bee needs ~120 MiB just for Node and DuckDB)`,
      );
    }
  }
  if (typeof v.timeout === 'string') {
    out.timeoutMs = asUsage(() => parseDuration(v.timeout as string, '--timeout'));
    if (out.timeoutMs < 10) throw new UsageError('--timeout: must be at least 10ms');
  }
  if (typeof v.grace === 'string') out.graceMs = asUsage(() => parseDuration(v.grace as string, '--grace'));
  return out;
}

function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
