import { ApiaryError } from '@apiary/protocol';
import { demoCommand, DEMO_USAGE } from './commands/demo.js';
import { runCommand, RUN_USAGE } from './commands/run.js';
import { sqlCommand, SQL_USAGE } from './commands/sql.js';
import { queenCommand, QUEEN_USAGE } from './commands/queen.js';
import { statusCommand, tasksCommand, STATUS_USAGE } from './commands/status.js';
import { CLUSTER_USAGE } from './commands/cluster-usage.js';
import { writeCommand, WRITE_USAGE } from './commands/write.js';
import { framesCommand, FRAMES_USAGE } from './commands/frames.js';
import { tokenCommand, TOKEN_USAGE } from './commands/token.js';
import { dashboardCommand, DASHBOARD_USAGE } from './commands/dashboard.js';
import { EXIT, exitCodeFor, TaskFailedError } from './errors.js';
import { exitFlushed } from './stdio-flush.js';

/** After Ctrl-C the keeper waits at most this long for a stdout reader to take what is left. */
const INTERRUPTED_FLUSH_MAX_MS = 1000;
import { interruption } from './session.js';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  sql: sqlCommand,
  run: runCommand,
  demo: demoCommand,
  queen: queenCommand,
  status: statusCommand,
  tasks: tasksCommand,
  write: writeCommand,
  frames: framesCommand,
  token: tokenCommand,
  dashboard: dashboardCommand,
  // Loaded on use: ssh2 and the SSH code cost every other command ~50 ms of start-up.
  cluster: async (argv) => (await import('./commands/cluster.js')).clusterCommand(argv),
};

const USAGE = `keeper: the apiary CLI

Usage:
  ${SQL_USAGE.replace(/\n/g, '\n  ')}
  ${RUN_USAGE.replace(/\n/g, '\n  ')}
  ${WRITE_USAGE.replace(/\n/g, '\n  ')}
  ${FRAMES_USAGE.replace(/\n/g, '\n  ')}
  ${DEMO_USAGE.replace(/\n/g, '\n  ')}
  ${QUEEN_USAGE.replace(/\n/g, '\n  ')}
  ${STATUS_USAGE.replace(/\n/g, '\n  ')}
  ${TOKEN_USAGE.replace(/\n/g, '\n  ')}
  ${DASHBOARD_USAGE.replace(/\n/g, '\n  ')}
  ${CLUSTER_USAGE.replace(/\n/g, '\n  ')}

Shared flags: --bees N (default: cores), --memory-per-bee SIZE (default: (memory − reserve) / bees,
at least 192MiB), --timeout DURATION (default 30s), --grace DURATION (default 5s), -v/--verbose,
--queen URL. sql, run, write and demo use a running queen when they find one (--queen > APIARY_QUEEN >
APIARY_HOME/config.json > a local daemon) and leave it running; otherwise they start an ephemeral
colony and take it down afterwards. State lives in APIARY_HOME (default ~/.apiary).
Exit codes: 0 ok, 1 task failed, 2 usage error (and FRAME_NAME_INVALID), 3 no queen running (status,
frames, dashboard), 130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`keeper: unknown command "${cmd}"\n\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => exitFlushed(code),
  async (e: unknown) => {
    const pending = interruption();
    if (pending) await pending;
    const code = exitCodeFor(e);
    if (e instanceof TaskFailedError) process.stderr.write(`error ${e.code}: ${e.message}\n`);
    else if (e instanceof ApiaryError) process.stderr.write(`keeper: ${e.code}: ${e.message}\n${code === EXIT.USAGE ? "run 'keeper help' for usage\n" : ''}`);
    else process.stderr.write(`keeper: ${(e as Error)?.stack ?? String(e)}\n`);
    // Interrupted (130): do not hang on a reader that stopped reading.
    await exitFlushed(code, code === EXIT.INTERRUPTED ? INTERRUPTED_FLUSH_MAX_MS : undefined);
  },
);
