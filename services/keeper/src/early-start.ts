import { existsSync, mkdirSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { apiaryHome, beeScratchDir, beeSizing, daemonPaths, MIN_MEMORY_PER_BEE } from '@apiary/config';
import { closeEarlyBees, discardEarlyBee, forkEarlyBee } from '@apiary/hive/early-bee';
import { SIGNAL_EXIT, type ShutdownSignal } from '@apiary/runtime';
import { setHostedColonyEnv } from './colony-env.js';
import { COMMON_OPTIONS } from './common-options.js';
import { traceStart } from './start-trace.js';

/*
 * The first bee of a one-shot run, forked at the very top of the keeper (cli.ts), before zod, the
 * config schemas, the hive or the queen are loaded: its own start-up (Node, the bee bundle, DuckDB
 * for SQL) then overlaps all of the keeper's. The hosted hive adopts it as bee 0 when it would fork
 * exactly the same bee (hive/src/early-bee.ts); else it is killed and the hive forks its own.
 * Only for `run` and `sql` with no queen to use (no --queen/--cluster, APIARY_QUEEN, config.json or
 * daemon state file: those runs use another queen's bees) and not for --help. Until a session owns
 * the keeper's signals, Ctrl-C here kills the bee, removes the run dir and exits 130.
 */

/** The one-shot commands, and whether their bees open DuckDB as they start (LocalColony's warmDuckdb). */
const ONE_SHOT: Readonly<Record<string, { warmDuckdb: boolean }>> = { run: { warmDuckdb: false }, sql: { warmDuckdb: true } };
const SIGNALS: readonly ShutdownSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The run dir made for the early bee's scratch, until the hosted colony takes it (then it is the colony's to remove). */
let runDir: string | null = null;
let ending: Promise<void> | null = null;

/** The bee's size as the hive would work it out from the same flags; null when they say nothing usable. */
function earlySize(values: Record<string, string | boolean | undefined>): { memoryPerBeeBytes: number } | null {
  const bees = values.bees;
  const memory = values['memory-per-bee'];
  if ((bees !== undefined && (typeof bees !== 'string' || !/^[1-9]\d*$/.test(bees))) || (memory !== undefined && typeof memory !== 'string')) return null;
  try {
    const s = beeSizing({ bees: bees === undefined ? undefined : Number(bees), memoryPerBee: memory });
    // Below the floor the flag is a usage error: no bee to fork.
    return s.memoryPerBeeBytes >= MIN_MEMORY_PER_BEE ? s : null;
  } catch {
    return null; // not a size: a usage error follows
  }
}

/**
 * Fork the first bee now if argv is a one-shot run on a colony of our own; whether it did. Never
 * throws: a wrong guess only costs the bee.
 */
export function startEarlyBee(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const [cmd, ...rest] = argv;
  const kind = cmd !== undefined && Object.hasOwn(ONE_SHOT, cmd) ? ONE_SHOT[cmd]! : null;
  if (!kind || env.APIARY_QUEEN) return false;
  let values: Record<string, string | boolean | undefined>;
  try {
    // Not strict: the command's own flags are its to check (a usage error then discards the bee).
    values = parseArgs({ args: [...rest], options: COMMON_OPTIONS, strict: false, allowPositionals: true }).values;
  } catch {
    return false;
  }
  if (values.queen !== undefined || values.cluster !== undefined || values.help !== undefined) return false;
  const home = apiaryHome(env);
  const p = daemonPaths(home);
  if (existsSync(p.configFile) || existsSync(p.stateFile)) return false;
  const size = earlySize(values);
  if (!size) return false;
  try {
    setHostedColonyEnv({ verbose: values.verbose === true, warmDuckdb: kind.warmDuckdb });
    // Named as LocalColony names it; the suffix only keeps it apart from a dead keeper's with the same pid.
    const dir = path.join(home, 'run', `${process.pid}-${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    runDir = dir;
    const scratch = beeScratchDir(path.join(dir, 'cache'), 0);
    mkdirSync(scratch, { recursive: true });
    // Before the fork: from its first moment the bee is ours to stop on Ctrl-C.
    for (const sig of SIGNALS) process.on(sig, onSignal);
    const pid = forkEarlyBee(0, size.memoryPerBeeBytes, scratch, traceStart);
    traceStart(`early bee forked (pid ${pid})`);
    return true;
  } catch (e) {
    traceStart(`no early bee: ${(e as Error).message}`);
    return false;
  }
}

/** Ctrl-C (or SIGTERM/SIGHUP) before a session owns the signals: nothing else is running yet. */
function onSignal(sig: ShutdownSignal): void {
  if (ending) process.exit(SIGNAL_EXIT[sig]); // a second signal: at once (the bee is killed on exit)
  process.stderr.write(`\nkeeper: ${sig === 'SIGINT' ? 'interrupted' : sig} while starting; shutting down…\n`);
  // The command goes on loading meanwhile: its hive must not fork a bee that nobody would stop.
  void closeEarlyBees();
  void endEarlyStart().finally(() => process.exit(SIGNAL_EXIT[sig]));
}

/** A session owns the keeper's signals from now on (session.ts). */
export function releaseEarlySignals(): void {
  for (const sig of SIGNALS) process.off(sig, onSignal);
}

/** The early bee's run dir, once, for the hosted colony (its scratch dirs are where the bee was told). */
export function takeEarlyRunDir(): string | null {
  const d = runDir;
  runDir = null;
  return d;
}

/** Before the keeper exits: an early bee no hive adopted is killed and reaped, and its run dir removed. */
export function endEarlyStart(): Promise<void> {
  ending ??= (async () => {
    await discardEarlyBee();
    const d = takeEarlyRunDir();
    if (d) {
      await rm(d, { recursive: true, force: true });
      await rmdir(path.dirname(d)).catch(() => undefined); // only if no other run is using it
    }
  })();
  return ending;
}
