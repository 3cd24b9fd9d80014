import { readdirSync, readFileSync } from 'node:fs';

/**
 * A snapshot of the machine's processes from /proc (Linux): enough to find a process's whole
 * tree, including children that moved to another process group, and to sum their RSS and CPU.
 * One pass serves every bee of a hive, so a poll costs the same whatever the bee count.
 */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  rssBytes: number;
  /** user + system CPU time in ms. */
  cpuMs: number;
}

export const HAS_PROCFS = process.platform === 'linux';

/**
 * The page size, from our own RSS in bytes and in pages (/proc/self/statm): no `getconf` child
 * process (~15 ms each on a Pi) on the path of every hive and keeper start.
 */
function pageSizeBytes(): number {
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    const bytes = process.memoryUsage.rss();
    const guess = bytes / pages;
    // Round to the nearest power of two (4 KiB on x86, 4/16/64 KiB on arm64).
    return pages > 0 ? 2 ** Math.round(Math.log2(guess)) : 4096;
  } catch {
    return 4096;
  }
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux port we run on. */
const TICKS_PER_SEC = 100;

let pageSize = 0;
let ticksPerSec = 0;

export function parseStat(text: string, page: number, hz: number): ProcInfo | null {
  // comm sits in parentheses and may itself hold spaces or ')': split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  if (f.length < 22) return null;
  return {
    pid,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / hz,
    rssBytes: Number(f[21]) * page,
  };
}

export function readProcTable(): Map<number, ProcInfo> {
  if (pageSize === 0) {
    pageSize = pageSizeBytes();
    ticksPerSec = TICKS_PER_SEC;
  }
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
      const info = parseStat(readFileSync(`/proc/${name}/stat`, 'utf8'), pageSize, ticksPerSec);
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
