import { parseArgs } from 'node:util';
import { resolveQueenConfig, type LocalHiveOptions } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';
import { createLogger, onShutdownSignal, SIGNAL_EXIT } from '@apiary/runtime';
import { Queen } from './queen.js';

/*
 * apiary-queen [--host H] [--port P] [--ephemeral] [--exit-with-stdin] [--no-local-hive]
 *   [--bees N] [--memory-per-bee S] [--timeout D] [--grace MS] [--cache-dir DIR]
 * Tokens come from APIARY_CLIENT_TOKEN and APIARY_JOIN_TOKEN (never argv).
 * When listening, prints one JSON line on stdout: {"type":"ready","url":…,"pid":…}.
 */
const log = createLogger(`queen[${process.pid}]`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      ephemeral: { type: 'boolean' },
      'exit-with-stdin': { type: 'boolean' },
      'no-local-hive': { type: 'boolean' },
      bees: { type: 'string' },
      'memory-per-bee': { type: 'string' },
      timeout: { type: 'string' },
      grace: { type: 'string' },
      'memory-poll': { type: 'string' },
      'cache-dir': { type: 'string' },
      'hive-timeout': { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const localHive: LocalHiveOptions | false = values['no-local-hive']
    ? false
    : {
        bees: num(values.bees),
        memoryPerBee: values['memory-per-bee'],
        taskTimeout: values.timeout,
        graceMs: num(values.grace),
        memoryPollMs: num(values['memory-poll']),
        cacheDir: values['cache-dir'],
      };
  const cfg = resolveQueenConfig({
    host: values.host,
    port: num(values.port),
    ephemeral: values.ephemeral ?? false,
    clientToken: process.env.APIARY_CLIENT_TOKEN ?? '',
    joinToken: process.env.APIARY_JOIN_TOKEN ?? '',
    localHive,
    graceMs: num(values.grace),
    hiveTimeoutMs: num(values['hive-timeout']),
  });
  const queen = new Queen(cfg, log);
  let exitCode = 0;
  const stop = (code: number) => {
    exitCode = code;
    return queen.stop();
  };
  onShutdownSignal((sig) => {
    log.info(`${sig}: stopping`);
    void stop(SIGNAL_EXIT[sig] === 130 ? 0 : 0);
  });
  // Started by a keeper: when the keeper dies its end of our stdin closes, and we cascade.
  if (values['exit-with-stdin']) {
    process.stdin.on('end', () => void stop(0));
    process.stdin.on('error', () => void stop(0));
    process.stdin.resume();
  }
  await queen.start();
  process.stdout.write(JSON.stringify({ type: 'ready', url: queen.url, pid: process.pid }) + '\n');
  await new Promise<void>((resolve) => queen.sm.onChange((s) => s === 'stopped' && resolve()));
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    const err = e instanceof ApiaryError ? e : new ApiaryError('INTERNAL', (e as Error).message);
    log.error(`${err.code}: ${err.message}`);
    process.exit(err.code === 'USAGE' || err.code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
