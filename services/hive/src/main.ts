import { readFileSync } from 'node:fs';
import { asUsage, flagValues, HIVE_FLAGS, hiveOptionsFromArgs, parseFlags, readSecretFile, resolveHiveConfig, usageLine, type HiveArgs } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';
import { parseLogFormat, ServiceProcess } from '@apiary/runtime';
import { HiveErrors } from './errors.js';
import { Hive } from './hive.js';

/*
 * apiary-hive --queen ws://host:port/v1/hive [--name N] [--bees N] [--memory-per-bee 512MB]
 *   [--timeout 30s] [--cache-dir DIR] [--grace 5s] [--memory-poll MS] [--reserve-memory 512MB]
 *   [--fetch-cells auto|always|never] [--cell-cache 2GiB]
 *   [--ephemeral] [--exit-with-stdin] [--token-file PATH] [--config FILE] [--queen-fingerprint SHA256]
 *   [--log-format json|pretty] [--log-file FILE]
 * Logs: JSON lines (persistent hive) or readable text (ephemeral) on stderr, or into --log-file,
 * rotated at 10 MiB with 3 files kept (bees' output relayed into the same log).
 * The join token comes from APIARY_JOIN_TOKEN or a 0600 file, never from argv (argv is world-readable).
 */
// Logging, signals, stdin, idle GC and exit codes as every apiary process has them (runtime service-process.ts).
const proc = new ServiceProcess('hive');

function readToken(file: string | undefined): string {
  if (file) {
    try {
      return readSecretFile(file);
    } catch (e) {
      if (e instanceof ApiaryError) throw e;
      // A missing or unreadable file is a configuration error (exit 2), not an internal one.
      throw new ApiaryError('CONFIG_INVALID', `--token-file ${file}: ${(e as Error).message}`);
    }
  }
  const t = process.env.APIARY_JOIN_TOKEN;
  if (!t) throw HiveErrors.noToken();
  return t;
}

function readConfigFile(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ApiaryError('CONFIG_INVALID', `--config ${file}: ${(e as Error).message}`);
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(HIVE_FLAGS, process.argv.slice(2));
  // --config FILE: the same options as JSON keyed by flag (what `keeper cluster up` uploads); flags win over it.
  const values: HiveArgs = { ...(flags.config ? flagValues(HIVE_FLAGS, readConfigFile(flags.config)) : {}), ...flags };
  const ephemeral = values.ephemeral ?? false;
  // A persistent hive writes JSON lines (for log shippers); an ephemeral one readable text.
  proc.openLog(
    asUsage(() => parseLogFormat(values['log-format'])),
    values['log-file'],
    ephemeral,
  );
  const queenUrl = values.queen ?? process.env.APIARY_QUEEN_WS;
  if (!queenUrl) throw new ApiaryError('USAGE', 'apiary-hive: --queen ws://host:port/v1/hive is required');
  const cfg = resolveHiveConfig({
    ...hiveOptionsFromArgs(values, readToken(values['token-file']), queenUrl),
    // A wss:// queen's certificate, pinned: `cluster up` writes it into the 0600 config with the join token.
    queenFingerprint: values['queen-fingerprint'] ?? process.env.APIARY_QUEEN_FINGERPRINT,
    ephemeral,
  });
  const hive = new Hive(cfg, proc.log);
  // A signal gives the bees their grace; an ephemeral hive whose parent's pipe closed (SSH, a local queen) stops at once.
  proc.stopOn(values['exit-with-stdin'] ?? false, (why) => void hive.stop(why === 'signal' ? cfg.graceMs : 0));
  await hive.start();
  proc.collectWhenIdle();
  return hive.done;
}

proc.run(main, usageLine(HIVE_FLAGS));
