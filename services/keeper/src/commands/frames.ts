import { formatBytes } from '@apiary/config';
import { checkFrameName, type FrameDetail, type FrameSummary, type SqlResult, type VacuumResponse } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { formatTable } from '../format.js';

export const FRAMES_USAGE = `keeper frames [list] [--json] [--queen URL]
  Frames of the running queen: current version, versions kept, rows, cells, the current version's
  size, and the bytes on disk (the current version's cells and those of older versions kept).
keeper frames describe FRAME [--json] [--queen URL]
  A frame's schema, per-column min / max / null count, and its version history.
keeper frames drop FRAME [--queen URL]
  Delete a frame: its catalog entries and every cell file.
keeper frames vacuum [FRAME] [--json] [--queen URL]
  Delete the versions older than the queen's last --keep-versions (default 2) and the cells no kept
  version lists, of FRAME or of every frame. A version a running query reads goes when it ends.`;

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
  if (sub !== 'list' && sub !== 'describe' && sub !== 'drop' && sub !== 'vacuum') {
    throw new UsageError(`keeper frames: unknown subcommand "${sub}" (list, describe, drop, vacuum)`);
  }
  if (sub !== 'list' && sub !== 'vacuum' && name === undefined) throw new UsageError(`keeper frames ${sub} takes a frame name`);
  if (name !== undefined) checkFrameName(name);
  const t = findQueen(values.queen);
  if (!t) {
    process.stderr.write('no queen is running: frames live in a running queen; start one with `keeper queen start --detach`, or pass --queen URL\n');
    return NOT_RUNNING;
  }
  const client = new QueenClient(t.url, t.token);
  if (sub === 'list') {
    const { frames } = await client.frames();
    process.stdout.write(values.json ? JSON.stringify(frames, null, 2) + '\n' : renderList(frames));
  } else if (sub === 'vacuum') {
    const r = await client.vacuumFrames(name);
    process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : renderVacuum(r));
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
    columns: [text('frame'), num('version'), num('versions'), num('rows'), num('cells'), text('size'), text('on_disk'), text('updated')],
    rows: frames.map((f) => ({
      ...f,
      frame: f.name,
      size: formatBytes(f.bytes),
      on_disk: formatBytes(f.diskBytes),
      updated: new Date(f.updatedAt).toISOString(),
    })),
  };
  return formatTable(r);
}

function renderVacuum(r: VacuumResponse): string {
  if (r.frames.length === 0) return 'no frames\n';
  const line = (f: VacuumResponse['frames'][number]) => {
    const removed =
      f.versions_removed.length === 0 ? 'nothing to remove' : `removed version${f.versions_removed.length === 1 ? '' : 's'} ${f.versions_removed.join(', ')}`;
    const files = `${f.cells_deleted} cell file${f.cells_deleted === 1 ? '' : 's'} deleted (${formatBytes(f.bytes_freed)})`;
    const later = f.versions_deferred.length === 0 ? '' : `; ${f.versions_deferred.join(', ')} read by a running query, removed when it ends`;
    return `${f.frame}: ${removed}, ${files}${later}\n`;
  };
  return `keeping the last ${r.keep} version${r.keep === 1 ? '' : 's'} of each frame\n${r.frames.map(line).join('')}`;
}

function renderDetail(f: FrameDetail): string {
  const head = `frame ${f.name}: version ${f.version} (${f.versions} kept), ${f.rows.toLocaleString('en')} rows in ${f.cells} cells (${formatBytes(f.bytes)}; ${formatBytes(f.diskBytes)} on disk) under ${f.dataRoot}\n\n`;
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
