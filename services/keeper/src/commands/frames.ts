import { formatBytes } from '@apiary/config';
import { checkFrameName, type FrameDetail, type FrameSummary, type SqlResult } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { formatTable } from '../format.js';

export const FRAMES_USAGE = `keeper frames [list] [--json] [--queen URL]
  Frames of the running queen: current version, versions, rows, cells, bytes.
keeper frames describe FRAME [--json] [--queen URL]
  A frame's schema, per-column min / max / null count, and its version history.
keeper frames drop FRAME [--queen URL]
  Delete a frame: its catalog entries and every cell file.`;

/** Frames live in a running queen: without one there is nothing to list (as for status). */
const NOT_RUNNING = 3;

export async function framesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, queen: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(FRAMES_USAGE + '\n');
    return EXIT.OK;
  }
  const [sub = 'list', name, ...extra] = positionals;
  if (extra.length > 0 || (sub === 'list' && name !== undefined)) throw new UsageError(`keeper frames ${sub}: too many arguments`);
  if (sub !== 'list' && sub !== 'describe' && sub !== 'drop') throw new UsageError(`keeper frames: unknown subcommand "${sub}" (list, describe, drop)`);
  if (sub !== 'list') {
    if (name === undefined) throw new UsageError(`keeper frames ${sub} takes a frame name`);
    checkFrameName(name);
  }
  const t = findQueen(values.queen);
  if (!t) {
    process.stderr.write('no queen is running: frames live in a running queen; start one with `keeper queen start --detach`, or pass --queen URL\n');
    return NOT_RUNNING;
  }
  const client = new QueenClient(t.url, t.token);
  if (sub === 'list') {
    const { frames } = await client.frames();
    process.stdout.write(values.json ? JSON.stringify(frames, null, 2) + '\n' : renderList(frames));
  } else if (sub === 'describe') {
    const f = await client.frame(name!);
    process.stdout.write(values.json ? JSON.stringify(f, null, 2) + '\n' : renderDetail(f));
  } else {
    const r = await client.dropFrame(name!);
    process.stdout.write(
      values.json ? JSON.stringify(r) + '\n' : `dropped frame ${r.frame} (${r.cells_deleted} cell file${r.cells_deleted === 1 ? '' : 's'} deleted)\n`,
    );
  }
  return EXIT.OK;
}

const num = (name: string) => ({ name, type: 'BIGINT' });
const text = (name: string) => ({ name, type: 'VARCHAR' });

function renderList(frames: FrameSummary[]): string {
  if (frames.length === 0) return 'no frames\n';
  const r: SqlResult = {
    kind: 'sql',
    columns: [text('frame'), num('version'), num('versions'), num('rows'), num('cells'), text('size'), text('updated')],
    rows: frames.map((f) => ({ ...f, frame: f.name, size: formatBytes(f.bytes), updated: new Date(f.updatedAt).toISOString() })),
  };
  return formatTable(r);
}

function renderDetail(f: FrameDetail): string {
  const head = `frame ${f.name}: version ${f.version} of ${f.versions}, ${f.rows.toLocaleString('en')} rows in ${f.cells} cells (${formatBytes(f.bytes)}) under ${f.dataRoot}\n\n`;
  const cols: SqlResult = {
    kind: 'sql',
    columns: [text('column'), text('type'), text('min'), text('max'), num('null_count')],
    rows: f.columns.map((c) => ({ column: c.name, type: c.type, min: c.min, max: c.max, null_count: c.null_count })),
  };
  const hist: SqlResult = {
    kind: 'sql',
    columns: [num('version'), text('mode'), num('rows'), num('cells'), text('size'), text('created')],
    rows: f.history.map((v) => ({ ...v, size: formatBytes(v.bytes), created: new Date(v.createdAt).toISOString() })),
  };
  return `${head}${formatTable(cols)}\nhistory:\n${formatTable(hist)}`;
}
