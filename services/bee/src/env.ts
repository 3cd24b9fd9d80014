import { ApiaryError } from '@apiary/protocol';

/** What the hive tells a bee at fork time (env, not argv: nothing secret, but keeps `ps` short). */
export interface BeeEnv {
  id: number;
  budgetBytes: number;
  duckMemoryBytes: number;
  scratchDir: string;
  /** The hive that forked us: we must not outlive it. */
  hivePid: number;
}

export const BEE_ENV = {
  id: 'APIARY_BEE_ID',
  budget: 'APIARY_BEE_BUDGET',
  duck: 'APIARY_BEE_DUCK_MEMORY',
  scratch: 'APIARY_BEE_SCRATCH',
  hive: 'APIARY_HIVE_PID',
} as const;

export function readBeeEnv(env: NodeJS.ProcessEnv = process.env): BeeEnv {
  const num = (k: string) => {
    const v = Number(env[k]);
    if (!Number.isFinite(v)) throw new ApiaryError('CONFIG_INVALID', `bee: ${k} is not set to a number`);
    return v;
  };
  const scratchDir = env[BEE_ENV.scratch];
  if (!scratchDir) throw new ApiaryError('CONFIG_INVALID', `bee: ${BEE_ENV.scratch} is not set`);
  return { id: num(BEE_ENV.id), budgetBytes: num(BEE_ENV.budget), duckMemoryBytes: num(BEE_ENV.duck), scratchDir, hivePid: num(BEE_ENV.hive) };
}
