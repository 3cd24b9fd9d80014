import { parseArgs } from 'node:util';
import { readSecretFile, resolveHiveConfig } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';
import { createLogger, onShutdownSignal } from '@apiary/runtime';
import { HiveErrors } from './errors.js';
import { Hive } from './hive.js';

/*
 * apiary-hive --queen ws://host:port/v1/hive [--name N] [--bees N] [--memory-per-bee 512MB]
 *   [--timeout 30s] [--cache-dir DIR] [--grace 5s] [--ephemeral] [--exit-with-stdin] [--token-file PATH]
 * The join token comes from APIARY_JOIN_TOKEN or a 0600 file, never from argv (argv is world-readable).
 */
const log = createLogger(`hive[${process.pid}]`);

function readToken(file: string | undefined): string {
  if (file) return readSecretFile(file);
  const t = process.env.APIARY_JOIN_TOKEN;
  if (!t) throw HiveErrors.noToken();
  return t;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      queen: { type: 'string' },
      name: { type: 'string' },
      bees: { type: 'string' },
      'memory-per-bee': { type: 'string' },
      timeout: { type: 'string' },
      'cache-dir': { type: 'string' },
      grace: { type: 'string' },
      'memory-poll': { type: 'string' },
      'token-file': { type: 'string' },
      ephemeral: { type: 'boolean' },
      'exit-with-stdin': { type: 'boolean' },
    },
    strict: true,
  });
  const queenUrl = values.queen ?? process.env.APIARY_QUEEN_WS;
  if (!queenUrl) throw new ApiaryError('USAGE', 'apiary-hive: --queen ws://host:port/v1/hive is required');
  const cfg = resolveHiveConfig({
    queenUrl,
    joinToken: readToken(values['token-file']),
    name: values.name,
    bees: values.bees === undefined ? undefined : Number(values.bees),
    memoryPerBee: values['memory-per-bee'],
    taskTimeout: values.timeout,
    graceMs: values.grace === undefined ? undefined : Number(values.grace),
    memoryPollMs: values['memory-poll'] === undefined ? undefined : Number(values['memory-poll']),
    cacheDir: values['cache-dir'],
    ephemeral: values.ephemeral ?? false,
  });
  const hive = new Hive(cfg, log);
  onShutdownSignal((sig) => {
    log.info(`${sig}: stopping`);
    void hive.stop(cfg.graceMs);
  });
  // An ephemeral hive started over SSH or by a local queen ends when its parent's pipe closes.
  if (values['exit-with-stdin']) {
    process.stdin.on('end', () => void hive.stop(0));
    process.stdin.on('error', () => void hive.stop(0));
    process.stdin.resume();
  }
  await hive.start();
  return hive.done;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    const err = e instanceof ApiaryError ? e : new ApiaryError('INTERNAL', (e as Error).message);
    log.error(`${err.code}: ${err.message}`);
    process.exit(err.code === 'USAGE' || err.code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
