import { BEE_ENV } from '@apiary/protocol';

/**
 * What a one-shot colony hosted in the keeper changes in the keeper's own env, which its hive and
 * bees inherit. One place for both starts that fork bees (early-start.ts, local-colony.ts): the early
 * bee is adopted only if its env equals what the hive would fork with.
 */
export function setHostedColonyEnv(o: { verbose: boolean; warmDuckdb?: boolean }): void {
  // The queen's and hive's log level: -v shows their debug lines (as their stderr was, as processes).
  if (o.verbose && process.env.APIARY_LOG_LEVEL === undefined) process.env.APIARY_LOG_LEVEL = 'debug';
  // A SQL command's bees load DuckDB as they start, while the statement is on its way.
  if (o.warmDuckdb) process.env[BEE_ENV.warmDuckdb] = '1';
}
