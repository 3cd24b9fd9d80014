import { ApiaryError, BEE_ENV, type BeeEnv } from '@apiary/protocol';

/** The env the hive set at fork (BEE_ENV, the contract in protocol), read and checked. */
export function readBeeEnv(env: NodeJS.ProcessEnv = process.env): BeeEnv {
  const num = (k: string) => {
    const v = Number(env[k]);
    if (!Number.isFinite(v)) throw new ApiaryError('CONFIG_INVALID', `bee: ${k} is not set to a number`);
    return v;
  };
  const scratchDir = env[BEE_ENV.scratch];
  if (!scratchDir) throw new ApiaryError('CONFIG_INVALID', `bee: ${BEE_ENV.scratch} is not set`);
  return {
    id: num(BEE_ENV.id),
    budgetBytes: num(BEE_ENV.budget),
    duckMemoryBytes: num(BEE_ENV.duck),
    scratchDir,
    hivePid: num(BEE_ENV.hive),
    warmDuckdb: env[BEE_ENV.warmDuckdb] === '1',
  };
}
