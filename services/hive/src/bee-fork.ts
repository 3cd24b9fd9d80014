import type { ForkOptions } from 'node:child_process';
import { BEE_MAIN } from '@apiary/bee/entry';
import { BEE_ENV, BEE_IPC_SERIALIZATION } from '@apiary/protocol';
import { withMallocEnv } from '@apiary/runtime';
import { splitBudget } from './budget.js';

/** V8 semi-space cap of a bee, MiB (see execArgv below). */
const BEE_SEMI_SPACE_MB = 2;

/** Everything a bee is forked with: what seals it (heap cap, env, own group), in one value to compare. */
export interface BeeFork {
  modulePath: string;
  options: ForkOptions & { execArgv: string[]; env: NodeJS.ProcessEnv };
  heapMb: number;
}

/** The hive's env minus its secrets: task code runs in the bee and must not read tokens. */
function beeEnvBase(): NodeJS.ProcessEnv {
  const { APIARY_JOIN_TOKEN: _j, APIARY_CLIENT_TOKEN: _c, APIARY_TOKEN: _t, ...rest } = process.env;
  // glibc malloc defaults (runtime malloc-env.ts): fewer arenas kept after a burst of tasks.
  return withMallocEnv(rest);
}

/**
 * How bee `id` of a chamber is forked: its budget split between V8's heap and DuckDB, told through
 * BEE_ENV. A module free of zod and of the hive's other code: a one-shot keeper forks its first bee
 * from the same spec before it loads them (early-bee.ts).
 */
export function beeFork(id: number, budgetBytes: number, scratchDir: string): BeeFork {
  const { heapMb, duckBytes } = splitBudget(budgetBytes);
  const options = {
    // Own process group: a group kill reaches anything the task spawned; terminal Ctrl-C does not.
    detached: true,
    serialization: BEE_IPC_SERIALIZATION,
    // A small young generation: V8 grows it to 3 x 16 MiB under a stream of tiny tasks and keeps it
    // when idle (+48 MiB PSS per bee after 100,000 tasks, bench footprint); scavenges stay cheap.
    execArgv: [`--max-old-space-size=${heapMb}`, `--max-semi-space-size=${BEE_SEMI_SPACE_MB}`],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...beeEnvBase(),
      [BEE_ENV.id]: String(id),
      [BEE_ENV.budget]: String(budgetBytes),
      [BEE_ENV.duck]: String(duckBytes),
      [BEE_ENV.scratch]: scratchDir,
      [BEE_ENV.hive]: String(process.pid),
    },
  } satisfies BeeFork['options'];
  return { modulePath: BEE_MAIN, options, heapMb };
}

/** Why two forks would not make the same bee (the first difference), or null when they would. */
export function forkDifference(a: BeeFork, b: BeeFork): string | null {
  if (a.modulePath !== b.modulePath) return 'module path';
  const oa: Record<string, unknown> = { ...a.options };
  const ob: Record<string, unknown> = { ...b.options };
  for (const k of new Set([...Object.keys(oa), ...Object.keys(ob)])) {
    if (k !== 'env' && JSON.stringify(oa[k]) !== JSON.stringify(ob[k])) return k;
  }
  const ea = a.options.env;
  const eb = b.options.env;
  for (const k of new Set([...Object.keys(ea), ...Object.keys(eb)])) if (ea[k] !== eb[k]) return `env ${k}`;
  return null;
}
