import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGlob, globMatch } from '../src/frames/glob.js';

// The queen expands a write's glob itself (frames/glob.ts); the bees' readers use DuckDB's glob().
// Both must give the same list: DuckDB is the oracle here, over a tree with dot files, symlinks,
// sets, ranges and '**'.
let root: string;
let db: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'apiary-glob-'));
  const files = [
    'x.csv',
    '.y.csv',
    'a/z.csv',
    'a/b/w.csv',
    'a/b/c.CSV',
    '.hid/h.csv',
    'c/q1.csv',
    'c/q2.csv',
    'c/qa.csv',
    'c/qb.csv',
    'c/q[x.csv',
    'c/q^.csv',
    'é/ü.csv',
  ];
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), 'a\n1\n');
  }
  symlinkSync('../a', path.join(root, 'c', 'link')); // a symlinked directory
  symlinkSync('q1.csv', path.join(root, 'c', 'lq.csv')); // a symlinked file
  symlinkSync('nowhere.csv', path.join(root, 'c', 'broken.csv'));
  db = await DuckDBInstance.create(':memory:');
  con = await db.connect();
});

afterAll(() => {
  con?.closeSync();
  db?.closeSync();
  rmSync(root, { recursive: true, force: true });
});

async function duckGlob(pattern: string): Promise<string[]> {
  const r = await con.runAndReadAll(`SELECT file FROM glob('${pattern.replace(/'/g, "''")}') ORDER BY file`);
  return r.getRowObjectsJson().map((row) => String(row.file));
}

describe('expandGlob (the queen lists a write glob as DuckDB does)', () => {
  const patterns = [
    '*',
    '*.csv',
    '**',
    '**/*.csv',
    '*/**/*.csv',
    '**/b/*.csv',
    'a/**',
    '*/*.csv',
    'a*/z.csv',
    'c/*',
    'c/q?.csv',
    'c/q[1].csv',
    'c/q[!1].csv',
    'c/q[a-b].csv',
    'c/q[!a-b].csv',
    'c/q[1-2a].csv',
    'c/q[^a].csv',
    'c/q[]].csv',
    'c/q[x.csv',
    'c/*/*',
    'c/l*/*',
    '**/l*/z.csv',
    'c/l**',
    'c/*1*',
    '?/*.csv',
    '*/?.csv',
    'nope/*.csv',
    'a/b/w.cs[v]',
    'a/b',
  ];
  for (const p of patterns) {
    it(`same list as DuckDB for ${p}`, async () => {
      const pattern = path.join(root, p);
      expect(await expandGlob(pattern)).toEqual(await duckGlob(pattern));
    });
  }

  it('refuses two ** segments with BAD_REQUEST, where DuckDB fails too', async () => {
    const pattern = path.join(root, '**/**/*.csv');
    await expect(duckGlob(pattern)).rejects.toThrow(/multiple '\*\*'/);
    await expect(expandGlob(pattern)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('globMatch (DuckDB Glob on bytes)', () => {
  const m = (s: string, p: string) => globMatch(Buffer.from(s), Buffer.from(p));
  it('matches sets, ranges, negation and escapes as DuckDB does', () => {
    expect(m('q1.csv', 'q[0-9].csv')).toBe(true);
    expect(m('qa.csv', 'q[!0-9].csv')).toBe(true);
    expect(m('q1.csv', 'q[!0-9].csv')).toBe(false);
    expect(m(']', '[]]')).toBe(true); // a ']' first in a set is a member
    expect(m('q1', 'q[1')).toBe(false); // no closing ']': matches nothing
    expect(m('a*', 'a\\*')).toBe(true);
    expect(m('ab', 'a\\*')).toBe(false);
    expect(m('ü', '?')).toBe(false); // two bytes in UTF-8: '?' is one byte
    expect(m('ü', '??')).toBe(true);
  });
});
