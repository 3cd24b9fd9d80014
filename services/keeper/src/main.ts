import { ApiaryError } from '@apiary/protocol';
import { endEarlyStart } from './early-start.js';
import { EXIT, exitCodeFor, TaskFailedError } from './errors.js';
import { endQuietlyOnReaderGone, exitFlushed } from './stdio-flush.js';

/*
 * The keeper after its early start (cli.ts): everything but the first bee's fork. Built twice: into
 * the ESM bundle's chunks (a fallback) and as keeper-main.cjs, which cli.ts runs through V8's code
 * cache (code-cache.ts); there early-start.js and hive's early-bee.js are cli.ts's own instances,
 * handed over (handover.ts), so the early bee's state is one.
 */

/** After Ctrl-C the keeper waits at most this long for a stdout reader to take what is left. */
const INTERRUPTED_FLUSH_MAX_MS = 1000;

type Command = (argv: string[]) => Promise<number>;

/**
 * Each command is loaded only when it runs: a one-shot `keeper run` parses its argv and starts its
 * colony without first running every other command's module code (status views, the daemon, cluster and ssh).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  sql: async () => (await import('./commands/sql.js')).sqlCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  queen: async () => (await import('./commands/queen.js')).queenCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  tasks: async () => (await import('./commands/status.js')).tasksCommand,
  write: async () => (await import('./commands/write.js')).writeCommand,
  frames: async () => (await import('./commands/frames.js')).framesCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  dashboard: async () => (await import('./commands/dashboard.js')).dashboardCommand,
  cluster: async () => (await import('./commands/cluster.js')).clusterCommand,
};

const usage = async () => (await import('./usage.js')).USAGE;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write((await usage()) + '\n');
    return cmd === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load) {
    process.stderr.write(`keeper: unknown command "${cmd}"\n\n${await usage()}\n`);
    return EXIT.USAGE;
  }
  return (await load())(rest);
}

/** Run the command in argv to its end, then exit the process with its code. */
export function runKeeper(argv: string[]): void {
  endQuietlyOnReaderGone();
  main(argv).then(
    async (code) => {
      await endEarlyStart();
      await exitFlushed(code);
    },
    async (e: unknown) => {
      // Loaded already if a command opened a session (the only place an interruption starts).
      const pending = (await import('./session.js')).interruption();
      if (pending) await pending;
      const code = exitCodeFor(e);
      if (e instanceof TaskFailedError) process.stderr.write(`error ${e.code}: ${e.message}\n`);
      else if (e instanceof ApiaryError) process.stderr.write(`keeper: ${e.code}: ${e.message}\n${code === EXIT.USAGE ? "run 'keeper help' for usage\n" : ''}`);
      else process.stderr.write(`keeper: ${(e as Error)?.stack ?? String(e)}\n`);
      // A run that failed before its hive adopted the early bee (a usage error): kill and reap it first.
      await endEarlyStart();
      // Interrupted (130): do not hang on a reader that stopped reading.
      await exitFlushed(code, code === EXIT.INTERRUPTED ? INTERRUPTED_FLUSH_MAX_MS : undefined);
    },
  );
}
