import { parseArgs, type ParseArgsConfig } from 'node:util';
import { asUsage, flagValues, HIVE_FLAGS, hiveOptionProblem, pickFlags } from '@apiary/config';
import { UsageError } from './errors.js';

export { COMMON_OPTIONS } from './common-options.js';

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
  /** A one-shot colony's bees open DuckDB as they start (the command runs SQL): see BEE_ENV.warmDuckdb. */
  warmDuckdb?: boolean;
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

/** The hive flags a colony command takes (parsed by the hive's own flag table). */
const COLONY_HIVE_FLAGS = pickFlags(HIVE_FLAGS, ['bees', 'memory-per-bee', 'timeout', 'grace']);

/** Validate the shared flags now, in the keeper, so a typo never starts a colony; bounds are the hive config schema's. */
export function colonyFlags(v: Record<string, unknown>): ColonyFlags {
  const out: ColonyFlags = { verbose: v.verbose === true };
  if (typeof v.queen === 'string') out.queen = v.queen;
  if (typeof v.cluster === 'string') out.cluster = v.cluster;
  const a = asUsage(() => flagValues(COLONY_HIVE_FLAGS, v));
  const bound = (flag: keyof typeof COLONY_HIVE_FLAGS, field: Parameters<typeof hiveOptionProblem>[0], value: number | undefined) => {
    const problem = value === undefined ? null : hiveOptionProblem(field, value);
    if (problem) throw new UsageError(`--${flag}: "${v[flag]}" ${problem}`);
    return value;
  };
  const bees = bound('bees', 'bees', a.bees);
  const memoryPerBeeBytes = bound('memory-per-bee', 'memoryPerBeeBytes', a['memory-per-bee']);
  const timeoutMs = bound('timeout', 'taskTimeoutMs', a.timeout);
  const graceMs = bound('grace', 'graceMs', a.grace);
  return {
    ...out,
    ...(bees !== undefined ? { bees } : {}),
    ...(memoryPerBeeBytes !== undefined ? { memoryPerBeeBytes } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
  };
}
