import { TaskState } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { renderColony, renderTasks } from '../status-view.js';
import { pruneCommand, taskDetailCommand, TASK_DETAIL_USAGE } from './task-detail.js';

export const STATUS_USAGE = `keeper status [--json] [--watch] [--queen URL]
  The colony at a glance: hives, bees (state, task, memory against budget), queue, temperature.
keeper tasks [--abandoned | --state STATE] [--limit N] [--json] [--queen URL]
  Recent tasks with every attempt's diagnostics (hive, bee, error, start, duration).
${TASK_DETAIL_USAGE}`;

/** Exit code when no queen is running (as `systemctl status` does for an inactive unit). */
const NOT_RUNNING = 3;

function connect(queen: string | undefined): QueenClient | null {
  const t = findQueen(queen);
  return t ? new QueenClient(t.url, t.token) : null;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    json: { type: 'boolean' },
    watch: { type: 'boolean', short: 'w' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const client = connect(values.queen);
  if (!client) {
    process.stderr.write('no queen is running: start one with `keeper queen start --detach`, or pass --queen URL\n');
    return NOT_RUNNING;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(await client.colony(), null, 2) + '\n');
    return EXIT.OK;
  }
  if (!values.watch) {
    process.stdout.write(renderColony(await client.colony()));
    return EXIT.OK;
  }
  // --watch: redraw in place every second until Ctrl-C.
  for (;;) {
    const view = renderColony(await client.colony());
    process.stdout.write(`\x1b[H\x1b[2J${view}\n(refreshing every 1s; Ctrl-C to quit)\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function tasksCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'prune') return pruneCommand(argv.slice(1));
  if (argv[0] !== undefined && !argv[0].startsWith('-')) return taskDetailCommand(argv);
  const { values } = parse(argv, {
    abandoned: { type: 'boolean' },
    state: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const state = values.abandoned ? 'abandoned' : values.state;
  if (state !== undefined && !TaskState.safeParse(state).success) throw new UsageError(`--state: "${state}" is not one of ${TaskState.options.join(', ')}`);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit: a whole number from 1 to 1000');
  const client = connect(values.queen);
  if (!client) {
    process.stderr.write('no queen is running: tasks live in a running queen; pass --queen URL or start one\n');
    return NOT_RUNNING;
  }
  const { tasks } = await client.list(state as TaskState | undefined, limit);
  process.stdout.write(values.json ? JSON.stringify(tasks, null, 2) + '\n' : renderTasks(tasks));
  return EXIT.OK;
}
