import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@apiary/runtime';
import { FrameCatalog, type NewCell } from '../src/frames/catalog.js';
import { DataRoot } from '../src/frames/data-root.js';
import { FrameVacuum } from '../src/frames/vacuum.js';

/*
 * Version GC over a real (in-memory) SQLite catalog and real cell files in a temp data root:
 * what retire() removes, what a pin keeps, and that the last unpin deletes what was deferred.
 */
const schema = [{ name: 'id', type: 'BIGINT' }];
const log = createLogger('test', () => {});

let dir: string;
let root: DataRoot;
let catalog: FrameCatalog;

/** A cell file of `bytes` bytes under the data root, recorded with its real size. */
function cell(frame: string, id: string, bytes: number): NewCell {
  const rel = root.cellPath(frame, id);
  mkdirSync(root.cellsDir(frame), { recursive: true });
  writeFileSync(root.abs(rel), Buffer.alloc(bytes, 1));
  return { id, path: rel, rows: 1, bytes: statSync(root.abs(rel)).size, sha256: 'a'.repeat(64), stats: {} };
}

const write = (frame: string, mode: 'append' | 'overwrite', ...cells: NewCell[]) =>
  catalog.commit({ frame, mode, writeId: cells[0]?.id ?? 'w', schema, cells }).version;
const onDisk = (frame: string) => readdirSync(root.cellsDir(frame)).sort();
const versions = (frame: string) => catalog.describe(frame, root.dir).history.map((v) => v.version);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-vacuum-'));
  root = DataRoot.at(dir);
  catalog = FrameCatalog.memory();
});

afterEach(() => {
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('catalog retire (keep the last N versions)', () => {
  it('removes versions past N and exactly the cells no kept version lists; disk bytes follow', () => {
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) write('f', 'overwrite', cell('f', id, 100 * (i + 1)));
    expect(catalog.list()[0]).toMatchObject({ version: 4, versions: 4, bytes: 400, diskBytes: 100 + 200 + 300 + 400 });
    const r = catalog.retire('f', 2);
    expect(r).toMatchObject({ versions: [1, 2], deferred: [], paths: [root.cellPath('f', 'a'), root.cellPath('f', 'b')], bytes: 300 });
    expect(versions('f')).toEqual([3, 4]);
    expect(catalog.list()[0]).toMatchObject({ version: 4, versions: 2, diskBytes: 700 });
    // Nothing left to do: a second pass removes nothing.
    expect(catalog.retire('f', 2)).toMatchObject({ versions: [], paths: [] });
  });

  it('keeps a cell an append carried into a kept version', () => {
    write('f', 'overwrite', cell('f', 'a', 10));
    write('f', 'append', cell('f', 'b', 20)); // v2 = a, b
    write('f', 'overwrite', cell('f', 'c', 30)); // v3 = c
    expect(catalog.retire('f', 2)).toMatchObject({ versions: [1], paths: [] }); // a is still v2's
    expect(catalog.retire('f', 1)).toMatchObject({ versions: [2], bytes: 30 });
    expect(catalog.cells('f').map((c) => c.id)).toEqual(['c']);
  });

  it('never removes a pinned version; its cells stay until the last pin goes', () => {
    write('f', 'overwrite', cell('f', 'a', 10));
    const q1 = catalog.pins.pin('f', 1);
    const q2 = catalog.pins.pin('f', 1);
    write('f', 'overwrite', cell('f', 'b', 10));
    write('f', 'overwrite', cell('f', 'c', 10));
    expect(catalog.retire('f', 1)).toMatchObject({ versions: [2], deferred: [1], paths: [root.cellPath('f', 'b')] });
    expect(catalog.cells('f', 1).map((c) => c.id)).toEqual(['a']);
    q1();
    q1(); // a release runs once
    expect(catalog.pins.count('f', 1)).toBe(1);
    expect(catalog.retire('f', 1)).toMatchObject({ versions: [], deferred: [1] });
    q2();
    expect(catalog.pins.pinned('f').size).toBe(0);
    expect(catalog.retire('f', 1)).toMatchObject({ versions: [1], paths: [root.cellPath('f', 'a')] });
  });
});

describe('FrameVacuum', () => {
  it('deletes the files of retired versions, defers pinned ones and deletes them at the last unpin', async () => {
    const vacuum = new FrameVacuum({ catalog, root, keep: 2, log });
    write('f', 'overwrite', cell('f', 'a', 10));
    const query = catalog.pins.pin('f', 1);
    write('f', 'overwrite', cell('f', 'b', 10));
    await vacuum.afterCommit('f');
    write('f', 'overwrite', cell('f', 'c', 10));
    await vacuum.afterCommit('f');
    // v1 is past the line but read by the query: its file stays.
    expect(onDisk('f')).toEqual(['a.parquet', 'b.parquet', 'c.parquet']);
    write('f', 'overwrite', cell('f', 'd', 10));
    const r = await vacuum.vacuum('f');
    expect(r).toEqual({ keep: 2, frames: [{ frame: 'f', versions_removed: [2], versions_deferred: [1], cells_deleted: 1, bytes_freed: 10 }] });
    expect(onDisk('f')).toEqual(['a.parquet', 'c.parquet', 'd.parquet']);
    query();
    // The unpin starts the deferred vacuum; its file removal is asynchronous.
    await expect.poll(() => onDisk('f')).toEqual(['c.parquet', 'd.parquet']);
    expect(versions('f')).toEqual([3, 4]);
  });

  it('leaves a version within the last N alone when its query ends', async () => {
    const vacuum = new FrameVacuum({ catalog, root, keep: 2, log });
    write('f', 'overwrite', cell('f', 'a', 10));
    const query = catalog.pins.pin('f', 1);
    write('f', 'overwrite', cell('f', 'b', 10));
    query();
    expect((await vacuum.vacuum('f')).frames[0]!.versions_removed).toEqual([]);
    expect(existsSync(root.abs(root.cellPath('f', 'a')))).toBe(true);
  });

  it('vacuums every frame without a name; an unknown frame is FRAME_NOT_FOUND, a bad name FRAME_NAME_INVALID', async () => {
    const vacuum = new FrameVacuum({ catalog, root, keep: 1, log });
    for (const f of ['x', 'y']) for (const id of ['1', '2']) write(f, 'overwrite', cell(f, `${f}${id}`, 5));
    const r = await vacuum.vacuum();
    expect(r.frames.map((f) => [f.frame, f.versions_removed, f.cells_deleted])).toEqual([
      ['x', [1], 1],
      ['y', [1], 1],
    ]);
    expect(onDisk('x')).toEqual(['x2.parquet']);
    expect(onDisk('y')).toEqual(['y2.parquet']);
    await expect(vacuum.vacuum('ghost')).rejects.toMatchObject({ code: 'FRAME_NOT_FOUND' });
    await expect(vacuum.vacuum('Bad-Name')).rejects.toMatchObject({ code: 'FRAME_NAME_INVALID' });
  });
});
