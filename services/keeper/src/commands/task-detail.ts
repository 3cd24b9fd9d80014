import { parseDuration } from '@apiary/config';
import type { TaskView } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { renderTasks } from '../status-view.js';

export const TASK_DETAIL_USAGE = `keeper tasks ID [--logs] [--json] [--queen URL]
  One task with every attempt; --logs also prints what each attempt wrote to stdout/stderr (the last 64 KiB).
keeper tasks prune [--older-than DURATION] [--keep N] [--queen URL]
  Delete finished tasks now (rows, attempts, result files): those finished longer ago than DURATION
  and all but the newest N. Unset flags take the queen's retention policy. Needs an admin token.`;

/** Exit code when no queen is running (as `keeper status`). */
const NOT_RUNNING = 3;

function client(queen: string | undefined): QueenClient | null {
  const t = findQueen(queen);
  return t ? new QueenClient(t.url, t.token) : null;
}

function noQueen(): number {
  process.stderr.write('no queen is running: tasks live in a running queen; pass --queen URL or start one\n');
  return NOT_RUNNING;
}

/** `keeper tasks ID [--logs]`. */
export async function taskDetailCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    logs: { type: 'boolean' },
    json: { type: 'boolean' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length !== 1) throw new UsageError('keeper tasks ID takes exactly one task id');
  const c = client(values.queen);
  if (!c) return noQueen();
  const t = await c.get(positionals[0]!);
  if (values.json) {
    process.stdout.write(JSON.stringify(t, null, 2) + '\n');
    return EXIT.OK;
  }
  process.stdout.write(renderTasks([t]));
  if (values.logs) process.stdout.write(renderLogs(t));
  return EXIT.OK;
}

/** Each attempt's captured output under a header line; attempts that printed nothing say so. */
export function renderLogs(t: TaskView): string {
  if (t.attempts.length === 0) return '(no attempt has run yet)\n';
  return t.attempts
    .map((a) => {
      const out = a.output ?? '';
      const body = out === '' ? '(no output)\n' : out.endsWith('\n') ? out : `${out}\n`;
      return `--- attempt ${a.attempt} output ---\n${body}`;
    })
    .join('');
}

/** `keeper tasks prune [--older-than DUR] [--keep N]`. */
export async function pruneCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'older-than': { type: 'string' },
    keep: { type: 'string' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(TASK_DETAIL_USAGE + '\n');
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`keeper tasks prune: unexpected "${positionals[0]}"`);
  let olderThanMs: number | undefined;
  if (values['older-than'] !== undefined) {
    try {
      olderThanMs = parseDuration(values['older-than'], '--older-than');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) throw new UsageError(`--keep: "${values.keep}" is not a whole number >= 0`);
  const c = client(values.queen);
  if (!c) return noQueen();
  const r = await c.prune({ olderThanMs, keep });
  process.stdout.write(`pruned ${r.pruned} finished task(s) in ${r.durationMs} ms\n`);
  return EXIT.OK;
}
