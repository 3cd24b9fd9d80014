import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/**
 * A snapshot of the machine's processes from /proc (Linux): enough to find a process's whole
 * tree, including children that moved to another process group, and to sum their RSS and CPU.
 * One pass serves every bee of a hive, so a poll costs the same whatever the bee count.
 */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** The session id (a process group lies within one session). */
  session: number;
  /** The executable's name (/proc/<pid>/comm, at most 15 characters). */
  comm: string;
  state: string;
  rssBytes: number;
  /** user + system CPU time in ms. */
  cpuMs: number;
}

export const HAS_PROCFS = process.platform === 'linux';

/** A plausible page size: a power of two from 1 KiB to 1 MiB (4 KiB on x86, 4/16/64 KiB on arm64). */
export function validPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1024 && n <= 1 << 20 && (n & (n - 1)) === 0;
}

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** AT_PAGESZ from an auxiliary vector (/proc/self/auxv: pairs of native words); 0 when absent. */
export function pageSizeFromAuxv(buf: Buffer, wordBytes: 4 | 8): number {
  const read = (o: number) => (wordBytes === 8 ? Number(buf.readBigUInt64LE(o)) : buf.readUInt32LE(o));
  for (let o = 0; o + 2 * wordBytes <= buf.length; o += 2 * wordBytes) {
    const type = read(o);
    if (type === AT_NULL) break;
    if (type === AT_PAGESZ) return read(o + wordBytes);
  }
  return 0;
}

/**
 * The kernel's page size: from our auxiliary vector (no child process, ~15 ms each on a Pi, on the
 * path of every hive start), else `getconf PAGESIZE` once; 0 when neither gives a plausible one,
 * and then every RSS reads 0, which the hive reports as MEMORY_READING_INVALID. Not derived from
 * our own RSS: under qemu-user a process's own /proc/self/stat reads 0 RSS.
 */
function systemPageSize(): number {
  try {
    const word = ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(process.arch) ? 4 : 8;
    const n = pageSizeFromAuxv(readFileSync('/proc/self/auxv'), word);
    if (validPageSize(n)) return n;
  } catch {
    // no /proc/self/auxv: ask getconf
  }
  try {
    const n = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (validPageSize(n)) return n;
  } catch {
    // no getconf either
  }
  return 0;
}

/** The page size readProcTable multiplies RSS pages by (0: unknown, every RSS reads 0). Cached. */
export function pageSizeBytes(): number {
  if (pageSize < 0) pageSize = systemPageSize();
  return pageSize;
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux port we run on. */
const TICKS_PER_SEC = 100;

let pageSize = -1;
const ticksPerSec = TICKS_PER_SEC;

export function parseStat(text: string, page: number, hz: number): ProcInfo | null {
  // comm sits in parentheses and may itself hold spaces or ')': split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  if (f.length < 22) return null;
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / hz,
    rssBytes: Number(f[21]) * page,
  };
}

/** A stat line is at most ~1 KiB (52 numeric fields and a comm of at most 64 bytes). */
const statBuf = Buffer.allocUnsafe(4096);

/**
 * /proc/<pid>/stat's text, read into one reused buffer: readFileSync allocates a 64 KiB buffer
 * per file of /proc (they report size 0) and stats it first, which a full pass paid for every
 * process on the machine. Throws when the process is gone.
 */
function statText(pid: number | string): string {
  const fd = openSync(`/proc/${pid}/stat`, 'r');
  try {
    return statBuf.toString('utf8', 0, readSync(fd, statBuf, 0, statBuf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** One process's /proc/<pid>/stat (zombies included: state 'Z'), or null when it is gone. */
export function readProcStat(pid: number): ProcInfo | null {
  try {
    return parseStat(statText(pid), pageSizeBytes(), ticksPerSec);
  } catch {
    return null;
  }
}

export function readProcTable(): Map<number, ProcInfo> {
  const page = pageSizeBytes();
  const table = new Map<number, ProcInfo>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const info = parseStat(statText(name), page, ticksPerSec);
      if (info && info.state !== 'Z') table.set(info.pid, info);
    } catch {
      // the process ended between readdir and read
    }
  }
  return table;
}

/**
 * The root and its descendants by parent link; for every group leader met on the way, the members
 * of its process group too (a bee's task child stays in the bee's group even after the bee dies).
 */
export function treeOf(rootPid: number, table: Map<number, ProcInfo>): ProcInfo[] {
  const children = new Map<number, number[]>();
  const groups = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, k: number, v: number) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const p of table.values()) {
    add(children, p.ppid, p.pid);
    if (p.pgrp !== p.pid) add(groups, p.pgrp, p.pid);
  }
  const seen = new Set<number>();
  const stack = [rootPid, ...(groups.get(rootPid) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid) || !table.has(pid)) continue;
    seen.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
    for (const g of groups.get(pid) ?? []) stack.push(g);
  }
  return [...seen].map((pid) => table.get(pid)!);
}
