import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiaryError } from '@apiary/protocol';
import { isGlob } from './inputs.js';

/**
 * A write's glob expanded by the queen itself (no task): the input files are on the queen's
 * machine, also for a colony whose hives all fetch them. Same list as DuckDB's `glob()` (1.x
 * LocalFileSystem), which the bees' readers use: the path splits at `/`; a segment without `*`, `?`
 * or `[` is taken as it is; another matches the entries of its directory (directories for a middle
 * segment, symlinks to directories included; anything else for the last); a segment `**` matches
 * its directory and every directory below it (not through symlinks), and as the last segment every
 * file below. Dot files match like any other. At most one `**`. Sorted by bytes, as DuckDB's
 * `ORDER BY file`. When nothing matches, the pattern as a literal file name (DuckDB's last try).
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  const literal = async () => ((await stat(pattern).catch(() => null))?.isFile() ? [pattern] : []);
  if (!isGlob(pattern)) return literal();
  const segs = pattern.split('/').filter((s) => s !== '');
  if (segs.filter((s) => s === '**').length > 1) throw new ApiaryError('BAD_REQUEST', `a glob may use '**' once: ${pattern}`);
  const out: string[] = [];
  // DuckDB expands from the first segment as a fixed directory (no glob in /<first>/).
  await walk('/', 0, segs, out, true);
  if (out.length === 0) return literal();
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

interface Entry {
  name: string;
  dir: boolean;
  link: boolean;
}

async function list(dir: string): Promise<Entry[]> {
  const dirents = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const entries = await Promise.all(
    dirents.map(async (d): Promise<Entry | null> => {
      if (!d.isSymbolicLink()) return { name: d.name, dir: d.isDirectory(), link: false };
      // A symlink counts as what it points to (DuckDB stats each entry); a broken one is skipped.
      const st = await stat(path.join(dir, d.name)).catch(() => null);
      return st ? { name: d.name, dir: st.isDirectory(), link: true } : null;
    }),
  );
  return entries.filter((e): e is Entry => e !== null);
}

async function walk(dir: string, i: number, segs: readonly string[], out: string[], first = false): Promise<void> {
  const seg = segs[i];
  if (seg === undefined) return;
  const last = i === segs.length - 1;
  const here = (name: string) => path.join(dir, name);
  if (first || !isGlob(seg)) {
    if (!last) return walk(here(seg), i + 1, segs, out);
    // A fixed last segment: emitted when it exists (a directory too: the writer then says BAD_REQUEST).
    if (
      await stat(here(seg)).then(
        () => true,
        () => false,
      )
    )
      out.push(here(seg));
    return;
  }
  const entries = await list(dir);
  if (seg === '**') {
    // Not last: this directory itself, then every directory below it; last: every file below.
    if (!last) await walk(dir, i + 1, segs, out);
    for (const e of entries) {
      if (e.link) continue; // a crawl does not follow symlinks
      if (e.dir) await walk(here(e.name), i, segs, out);
      else if (last) out.push(here(e.name));
    }
    return;
  }
  const want = Buffer.from(seg);
  for (const e of entries) {
    if (e.dir === last || !globMatch(Buffer.from(e.name), want)) continue;
    if (last) out.push(here(e.name));
    else await walk(here(e.name), i + 1, segs, out);
  }
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BANG = 0x21;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/**
 * DuckDB's `Glob(string, pattern)` on bytes: `*` any run, `?` any one byte, `[...]` a set with
 * ranges `a-z`, negated by a leading `!` (not `^`), a `]` first in the set is literal, and a set
 * with no closing `]` matches nothing; `\` makes the next byte literal.
 */
export function globMatch(s: Uint8Array, p: Uint8Array, si = 0, pi = 0): boolean {
  while (si < s.length && pi < p.length) {
    const c = p[pi]!;
    if (c === STAR) {
      while (pi < p.length && p[pi] === STAR) pi++;
      if (pi === p.length) return true;
      for (; si < s.length; si++) if (globMatch(s, p, si, pi)) return true;
      return false;
    }
    if (c === OPEN) {
      const next = matchSet(s[si]!, p, pi + 1);
      if (next < 0) return false;
      pi = next;
      si++;
      continue;
    }
    if (c === BACKSLASH) {
      pi++;
      if (pi === p.length || s[si] !== p[pi]) return false;
    } else if (c !== QUESTION && s[si] !== c) return false;
    si++;
    pi++;
  }
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length && si === s.length;
}

/** The pattern index after a set starting at `pi` (just past `[`) that matches byte `b`, else -1. */
function matchSet(b: number, p: Uint8Array, pi: number): number {
  if (pi === p.length) return -1;
  const invert = p[pi] === BANG;
  if (invert) pi++;
  const start = pi;
  let found = false;
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === CLOSE && pi > start) return found !== invert ? pi + 1 : -1;
    if (pi + 1 === p.length) return -1;
    if (p[pi + 1] === DASH) {
      if (pi + 2 === p.length) return -1;
      found ||= b >= c && b <= p[pi + 2]!;
      pi += 3;
    } else {
      found ||= b === c;
      pi++;
    }
  }
  return -1;
}
