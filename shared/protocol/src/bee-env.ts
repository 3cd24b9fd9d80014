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

/**
 * The bee channel's serialization (the messages are bee-wire.ts). Every value on it is JSON already
 * (a result goes on to the queen as JSON), and Node's 'json' mode costs about half the CPU per message
 * of 'advanced' (structured clone through a JS v8.Serializer) for the small messages of tiny tasks:
 * measured 30-35 vs 65-80 µs of parent + child CPU per round trip (raw fork IPC, 2 children).
 * Here, not in bee-wire.ts: a fork-time setting, read by a one-shot keeper that forks its first bee
 * before zod (which bee-wire.ts's schemas need) is loaded.
 */
export const BEE_IPC_SERIALIZATION = 'json' as const;
