import { readFileSync } from 'node:fs';

/**
 * A process's memory as the kernel accounts it (Linux): /proc/PID/smaps_rollup for the totals,
 * /proc/PID/smaps for the same fields per mapping, /proc/PID/status for the Vm* counters. PSS
 * splits shared pages (the node binary, libraries) fairly between the processes that map them, so
 * it is the number that adds up over a colony; RSS counts them whole in every process.
 * Beside readProcStat (proc-table.ts), which serves the hot path: these walk every mapping and
 * are for benches and tests.
 */

/** Every `Name:  N kB` line of a /proc memory file, in bytes, by name (e.g. `Pss`, `Pss_Anon`, `VmRSS`). */
export type MemoryFields = Record<string, number>;

/** The smaps_rollup fields most readers want, in bytes (0 where this kernel lacks the field). */
export interface SmapsRollup {
  rss: number;
  pss: number;
  /** PSS of anonymous pages (heaps, V8, arenas); Linux ≥ 5.1. */
  pssAnon: number;
  /** PSS of file-backed pages (binaries, libraries, mapped files); Linux ≥ 5.1. */
  pssFile: number;
  /** Anonymous pages resident, counted whole. */
  anonymous: number;
  swap: number;
  /** Every field, by its kernel name. */
  fields: MemoryFields;
}

/** One mapping of /proc/PID/smaps: its name (path, `[heap]`, `[stack]`, '' for anonymous) and its fields. */
export interface SmapsMapping {
  name: string;
  fields: MemoryFields;
}

const KB_LINE = /^(\w+):\s+(\d+) kB$/;
/** A mapping header: "start-end perms offset dev inode [name]". */
const MAPPING_HEADER = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/;

/** The `Name: N kB` lines of a /proc memory file's text, in bytes; other lines are passed over. */
export function parseMemoryFields(text: string): MemoryFields {
  const out: MemoryFields = {};
  for (const line of text.split('\n')) {
    const m = KB_LINE.exec(line.trimEnd());
    if (m) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]) * 1024;
  }
  return out;
}

/** The named fields of a smaps_rollup text (see SmapsRollup). */
export function rollupOf(fields: MemoryFields): SmapsRollup {
  const f = (k: string) => fields[k] ?? 0;
  return { rss: f('Rss'), pss: f('Pss'), pssAnon: f('Pss_Anon'), pssFile: f('Pss_File'), anonymous: f('Anonymous'), swap: f('Swap'), fields };
}

/** /proc/PID/smaps text split into its mappings, in order. */
export function parseSmaps(text: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  let cur: SmapsMapping | null = null;
  for (const line of text.split('\n')) {
    const h = MAPPING_HEADER.exec(line);
    if (h) {
      cur = { name: (h[1] as string).trim(), fields: {} };
      out.push(cur);
      continue;
    }
    const m = cur && KB_LINE.exec(line.trimEnd());
    if (cur && m) cur.fields[m[1] as string] = Number(m[2]) * 1024;
  }
  return out;
}

function readText(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null; // gone, not ours, or a kernel without the file
  }
}

/** Totals from /proc/PID/smaps_rollup; null when the process is gone or the kernel lacks the file (< 4.14). */
export function readSmapsRollup(pid: number): SmapsRollup | null {
  const text = readText(pid, 'smaps_rollup');
  if (text === null) return null;
  const fields = parseMemoryFields(text);
  return 'Pss' in fields ? rollupOf(fields) : null;
}

/** Every mapping of /proc/PID/smaps with its fields; null when the process is gone. */
export function readSmapsMappings(pid: number): SmapsMapping[] | null {
  const text = readText(pid, 'smaps');
  return text === null ? null : parseSmaps(text);
}

/** The kB fields of /proc/PID/status (VmRSS, VmHWM, RssAnon…) in bytes; null when the process is gone. */
export function readStatusMemory(pid: number): MemoryFields | null {
  const text = readText(pid, 'status');
  return text === null ? null : parseMemoryFields(text);
}
