import { spawn } from 'node:child_process';
import {
  asUsage,
  daemonPaths,
  flagValues,
  omitFlags,
  parseArgsOptions,
  QUEEN_FLAGS,
  queenOptionsFromArgs,
  readDaemonState,
  readSecretFile,
  resolveQueenConfig,
  usageLine,
} from '@apiary/config';
import { onShutdownSignal, stopProcess, withMallocEnv } from '@apiary/runtime';
import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { QueenClient } from '../client.js';
import { queenArgv, startDaemon } from '../daemon.js';
import { EXIT, UsageError } from '../errors.js';

/**
 * The queen flags `keeper queen start` forwards: every one but those the keeper sets itself (the
 * home is APIARY_HOME, a daemon is never ephemeral, its log file is <home>/logs/queen.log).
 */
const QUEEN_START_FLAGS = omitFlags(QUEEN_FLAGS, ['home', 'ephemeral', 'exit-with-stdin', 'log-file']);

/** Placeholder tokens for checking the options here (the queen reads the real ones from its 0600 files). */
const CHECK_TOKEN = 'x'.repeat(16);

export const QUEEN_USAGE = `keeper queen start [--detach] ${usageLine(QUEEN_START_FLAGS)}
keeper queen stop [--keep-hives]
keeper queen status [--json]
  The long-running queen daemon. Its pidfile, state, log (logs/queen.log), SQLite ledger and 0600
  tokens (tokens/client.token, tokens/join.token) live under APIARY_HOME.
  --metrics-port: a second listener serving GET /metrics without a token, bound to --metrics-host
  (default 127.0.0.1); the main port's /metrics needs a token with scope read.
  --log-format: the queen's (and its local hive's) log lines, JSON by default.
  --data-root: where frames' cells live (default APIARY_HOME/data); --cell-bytes, --min-cell-bytes:
  the leafcutter's target and floor cell size; --keep-versions N: versions of each frame kept after
  a write or vacuum (default 2); --tls-cert/--tls-key/--tls-name: see README (TLS).`;

export async function queenCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'start') return start(rest);
  if (sub === 'stop') return stop(rest);
  if (sub === 'status') return status(rest);
  throw new UsageError(`keeper queen: expected start, stop or status${sub ? `, not "${sub}"` : ''}`);
}

async function start(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...parseArgsOptions(QUEEN_START_FLAGS),
    detach: { type: 'boolean', short: 'd' },
  });
  if (positionals.length > 0) throw new UsageError(`keeper queen start: unexpected "${positionals[0]}"`);
  // Checked here with the queen's own table and schema (a detached queen's refusal would only be in
  // its log); --log-format is the queen's to check (its refusal lands in the log the keeper prints).
  colonyFlags(values);
  const q = asUsage(() => flagValues(QUEEN_START_FLAGS, values));
  resolveQueenConfig(queenOptionsFromArgs(q, { home: daemonPaths().home, clientToken: CHECK_TOKEN, joinToken: CHECK_TOKEN, logFormat: 'json' }));
  const running = readDaemonState(daemonPaths());
  if (running) {
    process.stdout.write(`a queen is already running: pid ${running.pid} at ${running.url}\n`);
    return EXIT.OK;
  }
  const args = queenArgv(q);
  if (values.detach) {
    const s = await startDaemon(args);
    const p = daemonPaths();
    process.stdout.write(
      `queen started: pid ${s.pid} at ${s.url}\n  log:          ${p.logFile}\n  client token: ${p.clientTokenFile}\n  join token:   ${p.joinTokenFile}\n`,
    );
    return EXIT.OK;
  }
  // Foreground: same process group, so Ctrl-C reaches the queen too; we wait for its cascade to finish.
  // The malloc defaults as for a detached daemon (daemon.ts): glibc reads them at the queen's start.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: withMallocEnv(process.env) });
  let signalled: number | null = null;
  onShutdownSignal((sig) => {
    signalled = sig === 'SIGINT' ? EXIT.INTERRUPTED : 143;
    // Ctrl-C already reached the queen (same process group); a second SIGINT would skip its cascade.
    if (sig !== 'SIGINT') child.kill(sig);
  });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  return signalled ?? code;
}

async function stop(argv: string[]): Promise<number> {
  const { values } = parse(argv, { 'keep-hives': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  const p = daemonPaths();
  const s = readDaemonState(p);
  if (!s) {
    process.stdout.write('no queen is running under ' + p.home + '\n');
    return EXIT.OK;
  }
  try {
    const client = new QueenClient(s.url, readSecretFile(p.clientTokenFile));
    await client.shutdown(values['keep-hives'] ?? false);
  } catch (e) {
    process.stderr.write(`keeper: the queen did not take the stop request (${(e as Error).message}); sending SIGTERM\n`);
    process.kill(s.pid, 'SIGTERM');
  }
  // The queen gives running tasks its grace period (default 5 s), then cascades.
  await stopProcess(s.pid, {
    graceMs: 30_000,
    signal: null,
    pollMs: 50,
    onOverstay: () => process.stderr.write('keeper: the queen is still running after 30 s; killing its process tree\n'),
  });
  process.stdout.write(`queen stopped (pid ${s.pid})\n`);
  return EXIT.OK;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  const p = daemonPaths();
  const s = readDaemonState(p);
  if (!s) {
    if (values.json) process.stdout.write(JSON.stringify({ running: false }) + '\n');
    else process.stdout.write(`no queen is running under ${p.home}\n`);
    return 3;
  }
  const c = await new QueenClient(s.url, readSecretFile(p.clientTokenFile)).colony();
  if (values.json) {
    process.stdout.write(JSON.stringify({ running: true, ...s, hives: c.hives.length, queued: c.queued, tasksRunning: c.running }) + '\n');
    return EXIT.OK;
  }
  const up = Math.round((Date.now() - s.startedAt) / 1000);
  const bees = c.hives.reduce((n, h) => n + h.bees.length, 0);
  process.stdout.write(
    `queen running: pid ${s.pid} at ${s.url}, up ${up}s; ${c.hives.length} hive(s), ${bees} bee(s), ${c.queued} queued, ${c.running} running\n`,
  );
  return EXIT.OK;
}
