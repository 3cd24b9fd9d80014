import { DASHBOARD_USAGE } from './commands/dashboard.js';
import { DEMO_USAGE } from './commands/demo.js';
import { FRAMES_USAGE } from './commands/frames.js';
import { QUEEN_USAGE } from './commands/queen.js';
import { RUN_USAGE } from './commands/run.js';
import { SQL_USAGE } from './commands/sql.js';
import { STATUS_USAGE } from './commands/status.js';
import { CLUSTER_USAGE } from './commands/cluster-usage.js';
import { TOKEN_USAGE } from './commands/token.js';
import { WRITE_USAGE } from './commands/write.js';

/**
 * `keeper help`: every command's usage. A module of its own, loaded only for help or a wrong
 * command, because it imports every command (cli.ts loads just the one it runs).
 */
export const USAGE = `keeper: the apiary CLI

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
frames, dashboard), 130 interrupted, 141 the output's reader went away (e.g. | head).`;
