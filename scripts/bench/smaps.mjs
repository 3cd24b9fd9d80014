// Where a process's memory is: PSS from /proc/PID/smaps grouped by kind of mapping, so a footprint
// that grew after load can be attributed (issue 14) instead of guessed at.
//
//   heap      [heap]: glibc's main arena (brk), i.e. small native allocations of the main thread
//   anon      anonymous mmaps: V8's heap spaces and code space, glibc's other arenas and big
//             (> mmap threshold) allocations, native libraries' own pools (SQLite, DuckDB, libuv)
//   duckdb    file pages of the DuckDB binding (.node): large, and present only once it was loaded
//   sqlite    file pages of better-sqlite3's binding
//   node      file pages of the node binary itself
//   libs      other file-backed mappings (libc, libstdc++, ICU data…)
//   stack     [stack] and thread stacks
//
// The same readings as smaps_rollup, split; a process gone (or a kernel without smaps) reads null.
// The reading itself is runtime's readSmapsMappings (smaps.ts); this only sorts it into kinds.

import { readSmapsMappings } from '@apiary/runtime';

export const SMAPS_KINDS = ['heap', 'anon', 'duckdb', 'sqlite', 'node', 'libs', 'stack'];

function kindOf(name) {
  if (name === '[heap]') return 'heap';
  if (name === '[stack]' || name.startsWith('[stack:')) return 'stack';
  if (name === '' || name.startsWith('[anon')) return 'anon';
  if (name.startsWith('[')) return 'libs'; // [vdso], [vvar]…: tiny
  if (/duckdb/i.test(name)) return 'duckdb';
  if (/better_sqlite3|better-sqlite3/.test(name)) return 'sqlite';
  if (name === process.execPath || /\/node$/.test(name)) return 'node';
  return 'libs';
}

/** PSS in bytes per kind (see the table above); null when the process is gone. */
export function smapsBreakdown(pid) {
  const mappings = readSmapsMappings(pid);
  if (!mappings) return null;
  const out = Object.fromEntries(SMAPS_KINDS.map((k) => [k, 0]));
  for (const m of mappings) out[kindOf(m.name)] += m.fields.Pss ?? 0;
  return out;
}

/** "heap +3.1, anon +9.8 …" MiB: the kinds that changed by at least 0.5 MiB between two breakdowns. */
export function smapsGrowth(before, after) {
  if (!before || !after) return 'n/a';
  const parts = [];
  for (const k of SMAPS_KINDS) {
    const d = (after[k] - before[k]) / 1048576;
    if (Math.abs(d) >= 0.5) parts.push(`${k} ${d > 0 ? '+' : ''}${d.toFixed(1)}`);
  }
  return parts.length > 0 ? `${parts.join(', ')} MiB` : 'no kind changed by 0.5 MiB';
}
