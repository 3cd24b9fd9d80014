import path from 'node:path';
import {
  asUsage,
  daemonPaths,
  loadOrCreateToken,
  parseFlags,
  QUEEN_FLAGS,
  queenOptionsFromArgs,
  readDaemonPid,
  removeDaemonState,
  resolveQueenConfig,
  usageLine,
  writeDaemonState,
} from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';
import { parseLogFormat, ServiceProcess } from '@apiary/runtime';
import { Queen } from './queen.js';
import { isLoopbackHost } from './tls/loopback.js';
import { SqliteNodeStore } from './nodes/node-registry.js';
import { SqliteLedger } from './tasks/sqlite-ledger.js';
import { openQueenDb } from './db/queen-db.js';
import { WalCheckpointer } from './db/wal-checkpointer.js';
import { RetentionRunner } from './tasks/retention-runner.js';
import { SqliteOutputStore } from './tasks/task-output.js';
import { FrameCatalog } from './frames/catalog.js';
import { TokenStore } from './auth/token-store.js';
import { Idempotency } from './tasks/idempotency.js';

/*
 * apiary-queen [--home DIR] [--host H] [--port P] [--ephemeral] [--exit-with-stdin] [--no-local-hive]
 *   [--bees N] [--memory-per-bee S] [--timeout D] [--grace MS] [--cache-dir DIR] [--hive-timeout MS]
 *   [--data-root DIR] [--min-cell-bytes SIZE] [--cell-bytes SIZE]
 *   [--retain-for DUR] [--retain-tasks N] [--prune-every DUR]
 *   [--metrics-port P [--metrics-host 127.0.0.1]] [--log-format json|pretty] [--log-file FILE]
 * Frames' cells live under the data root: daemon default APIARY_HOME/data; an ephemeral queen uses
 * <cache-dir>/../data (its keeper's run dir), else a temp dir it removes when it stops.
 * --min-cell-bytes lowers the 16 MiB leafcutter floor; --cell-bytes replaces the memory-per-bee/4
 * target (both for tests and tuning: with bees of >= 192 MiB the target alone is >= 48 MiB).
 * Retention (daemon): finished tasks older than --retain-for (7d) or beyond the newest --retain-tasks
 * (100000) are pruned with their result files every --prune-every (60s); see tasks/retention.ts.
 * --metrics-port opens a second listener with GET /metrics and no token (a local Prometheus); the
 * main port's /metrics needs the client token. The ready line then also carries "metricsUrl".
 * Logs: JSON lines (daemon) or readable text (ephemeral, or --log-format pretty) on stderr, or into
 * --log-file (rotated at 10 MiB, 3 files; its local hive then writes hive.log beside it).
 * Tokens: APIARY_CLIENT_TOKEN and APIARY_JOIN_TOKEN, or (daemon) the 0600 files under APIARY_HOME/tokens,
 * generated at first start. Never argv. When listening, prints one JSON line on stdout:
 * {"type":"ready","url":…,"pid":…}. A daemon also writes queen.pid and queen.json under APIARY_HOME.
 * TLS: a --host other than loopback (or --tls-cert/--tls-key) serves https/wss; the ready line and
 * queen.json then carry the certificate's "fingerprint" (SHA-256) for hives and keepers to pin.
 */
// Logging, signals, stdin, idle GC and exit codes as every apiary process has them (runtime service-process.ts).
const proc = new ServiceProcess('queen');

async function main(): Promise<number> {
  const values = parseFlags(QUEEN_FLAGS, process.argv.slice(2));
  const ephemeral = values.ephemeral ?? false;
  const logFormat = proc.openLog(
    asUsage(() => parseLogFormat(values['log-format'])),
    values['log-file'],
    ephemeral,
  );
  const log = proc.log;
  const paths = daemonPaths(values.home ?? process.env.APIARY_HOME);
  if (!ephemeral) {
    // The ledger holds task results and the tokens sit beside it: nothing the daemon writes is for other users.
    process.umask(0o077);
    const running = readDaemonPid(paths);
    if (running !== null) throw new ApiaryError('CONFIG_INVALID', `a queen is already running here (pid ${running}); stop it with: keeper queen stop`);
  }
  const token = (env: string, file: string) => process.env[env] ?? (ephemeral ? '' : loadOrCreateToken(file));
  const cfg = resolveQueenConfig(
    queenOptionsFromArgs(values, {
      home: paths.home,
      clientToken: token('APIARY_CLIENT_TOKEN', paths.clientTokenFile),
      joinToken: token('APIARY_JOIN_TOKEN', paths.joinTokenFile),
      defaultCacheDir: ephemeral ? undefined : paths.cacheDir,
      logFormat,
      // A daemon that writes its own log file gives its local hive one beside it (each rotates its own).
      hiveLogFile: values['log-file'] ? path.join(path.dirname(values['log-file']), 'hive.log') : undefined,
    }),
  );
  // Beyond loopback the tokens cross a network: HTTPS and WSS, with the user's certificate or one made here
  // (kept under APIARY_HOME/tls). --tls-name: the addresses hives dial, for the certificate's names.
  const tls =
    !isLoopbackHost(cfg.host) || values['tls-cert'] || values['tls-key']
      ? // Loaded only here: the certificate code (x509, ASN.1) costs a loopback queen's start-up nothing.
        await (await import('./tls/queen-cert.js')).queenTls({
          dir: ephemeral ? null : `${paths.home}/tls`,
          names: [cfg.host, ...(values['tls-name'] ?? [])],
          certFile: values['tls-cert'],
          keyFile: values['tls-key'],
        })
      : undefined;
  if (tls) log.info(`TLS: ${tls.source} certificate, SHA-256 fingerprint ${tls.fingerprint}`);
  // A daemon's ledger is durable (SQLite, WAL); an ephemeral queen keeps the same ledger in memory.
  // The daemon's one database (db/queen-db.ts): opened and migrated here, given to every store in it, closed last.
  const db = ephemeral ? undefined : openQueenDb(paths.db);
  // WAL checkpoints (a copy and two fsyncs) run beside the event loop, not inside a task's commit.
  const checkpointer = db ? WalCheckpointer.start(db, paths.db, log) : undefined;
  const ledger = db ? new SqliteLedger({ db, resultsDir: paths.resultsDir }) : undefined;
  const retention = ledger
    ? new RetentionRunner(ledger, { maxAgeMs: cfg.retentionMaxAgeMs, maxTasks: cfg.retentionMaxTasks }, cfg.retentionIntervalMs, log.child('retention'))
    : undefined;
  const queen = new Queen(cfg, log, {
    tls,
    ledger,
    retention,
    outputs: db && ledger ? new SqliteOutputStore(db, () => ledger.flush()) : undefined,
    nodes: db ? new SqliteNodeStore(db) : undefined,
    // The catalog is in the daemon's database (and its migrations); an ephemeral one is in memory.
    catalog: db ? FrameCatalog.open(db) : undefined,
    // Scoped tokens (hashes) and idempotency keys live in it too (migration 6).
    tokens: db ? TokenStore.sqlite(db) : undefined,
    idempotency: db ? Idempotency.sqlite(db) : undefined,
  });
  // Started by a keeper for one command (--exit-with-stdin): when the keeper dies its end of our stdin closes, and we cascade.
  proc.stopOn(values['exit-with-stdin'] ?? false, () => void queen.stop());
  const stopped = new Promise<void>((resolve) => queen.sm.onChange((s) => s === 'stopped' && resolve()));
  await queen.start();
  // Cached finished tasks and SQLite's page cache go first, so the idle collection takes them too.
  proc.collectWhenIdle(() => ledger?.dropCache());
  const fingerprint = tls ? { fingerprint: tls.fingerprint } : {};
  if (!ephemeral) writeDaemonState(paths, { url: queen.url, pid: process.pid, startedAt: queen.startedAt, ...fingerprint });
  const metricsUrl = queen.metricsUrl ? { metricsUrl: queen.metricsUrl } : {};
  process.stdout.write(JSON.stringify({ type: 'ready', url: queen.url, pid: process.pid, ...metricsUrl, ...fingerprint }) + '\n');
  await stopped;
  await checkpointer?.stop();
  db?.close(); // after queen.stop() closed the ledger (its last flush) and the catalog
  if (!ephemeral) removeDaemonState(paths);
  return 0;
}

proc.run(main, usageLine(QUEEN_FLAGS));
