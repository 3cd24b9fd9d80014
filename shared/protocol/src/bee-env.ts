/**
 * The hive ↔ bee contract at fork time: the env vars a hive sets and a bee reads (env, not argv:
 * nothing secret, but it keeps `ps` short). The hive writes them (chamber.ts), the bee reads them
 * (bee/src/env.ts); neither imports the other for them.
 */
export interface BeeEnv {
  id: number;
  budgetBytes: number;
  duckMemoryBytes: number;
  scratchDir: string;
  /** The hive that forked the bee: the bee must not outlive it. */
  hivePid: number;
  /**
   * Open DuckDB right after start instead of at the first task that needs it: set (to 1) in the
   * hive's own env, which bees inherit, by a one-shot `keeper sql` whose bee is up before its query.
   */
  warmDuckdb: boolean;
}

export const BEE_ENV = {
  id: 'APIARY_BEE_ID',
  budget: 'APIARY_BEE_BUDGET',
  duck: 'APIARY_BEE_DUCK_MEMORY',
  scratch: 'APIARY_BEE_SCRATCH',
  hive: 'APIARY_HIVE_PID',
  warmDuckdb: 'APIARY_BEE_WARM_DUCKDB',
} as const;
