import { readdirSync, readFileSync } from 'node:fs';
import { GroupScan } from './group-scan.js';
import { ProcFiles } from './proc-files.js';
import { HAS_PROCFS, pageSizeBytes, parseStat, type ProcInfo, readProcStat, readProcTable, treeOf } from './proc-table.js';
import type { TreeUsage } from './process-tree.js';

/**
 * How often the sampler also scans every process on the machine (ms): that pass finds a group member
 * the walk cannot reach (a task's grandchild whose parent exited: reparented to init, still in the
 * bee's process group). Between passes such an orphan is followed by its pid, so it is counted from
 * the first full pass after it was orphaned on, at most this long after (from the first walk that
 * met it in the group on, if one did before its parent exited). The scan reads only what may have
 * changed (GroupScan).
 */
export const FULL_SCAN_MS = 1000;

/**
 * A process's children: /proc/<pid>/task/<tid>/children of every thread (a child belongs to the
 * thread that forked it). null when it cannot be read: the process is gone, or the kernel lacks
 * CONFIG_PROC_CHILDREN (then a caller falls back to reading all of /proc).
 */
export function childPids(pid: number): number[] | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      // a thread that ended since the readdir has no children to give; a missing file (no
      // CONFIG_PROC_CHILDREN) shows on the main thread, which never ends before its process
      if (tid === String(pid)) return null;
      continue;
    }
    for (const s of text.split(' ')) if (s.length > 0) out.push(Number(s));
  }
  return out;
}

/** USER_HZ, as in proc-table.ts. */
const TICKS_PER_SEC = 100;

/**
 * Samples the RSS and CPU of a few process trees (a hive's bees) by walking down from each root
 * through the kernel's children lists: a poll reads the bees' own processes, not every process on
 * the machine (that read was ~a quarter of a busy hive's CPU). Like treeOf, a tree also holds the
 * members of the process groups its processes lead: those the walk cannot reach are found by a full
 * pass every FULL_SCAN_MS and then followed by pid.
 */
export class TreeSampler {
  /** Per root: group members to follow by pid (the walk re-checks them), each with its group. */
  readonly #members = new Map<number, Map<number, number>>();
  readonly #scan = new GroupScan();
  #lastFull = Number.NEGATIVE_INFINITY;
  #walkable = HAS_PROCFS;
  /** The walk's stat and children files, kept open between polls (ProcFiles). */
  readonly #files = new ProcFiles();
  /** /proc/<pid>/stat files the last sample read (how tests see that it walked, not scanned). */
  statReads = 0;

  constructor(private readonly fullScanMs = FULL_SCAN_MS) {}

  sample(roots: readonly number[], now = Date.now()): Map<number, TreeUsage> {
    if (!this.#walkable) return this.#fullTable(roots, now);
    if (now - this.#lastFull >= this.fullScanMs) return this.#full(roots, now);
    this.statReads = 0;
    const out = new Map<number, TreeUsage>();
    for (const r of roots) {
      let members = this.#members.get(r);
      if (!members) {
        members = new Map();
        this.#members.set(r, members);
      }
      const tree = this.#walk(r, members);
      if (!tree) return this.#fullTable(roots, now);
      out.set(r, usageOf(tree));
    }
    this.#files.sweep();
    return out;
  }

  /** The files the walks keep open now. */
  openFiles(): string[] {
    return this.#files.paths();
  }

  /** Close the files the walks keep open (the sampler is done with). */
  close(): void {
    this.#files.close();
    this.#scan.clear();
  }

  /** One process's stat through its kept file; null when it is gone. */
  #stat(pid: number): ProcInfo | null {
    const text = this.#files.read(`/proc/${pid}/stat`);
    return text ? parseStat(text, pageSizeBytes(), TICKS_PER_SEC) : null;
  }

  /** childPids through kept files: the same answer, null when not readable. */
  #children(pid: number): number[] | null {
    const tids = this.#files.tids(pid);
    if (!tids) return null;
    const out: number[] = [];
    for (const tid of tids) {
      const text = this.#files.read(`/proc/${pid}/task/${tid}/children`);
      if (text === null) {
        // as in childPids: only the main thread's file missing means no children lists here
        if (tid === String(pid)) return null;
        continue;
      }
      for (const s of text.split(' ')) if (s.length > 0) out.push(Number(s));
    }
    return out;
  }

  /**
   * The root's tree by children lists, plus the group members to follow by pid (`members`, which
   * also learns the root's group members the walk meets, and forgets those gone); null: not walkable.
   */
  #walk(root: number, members: Map<number, number>): ProcInfo[] | null {
    const seen = new Map<number, ProcInfo>();
    const stack = [root];
    for (const m of members.keys()) stack.push(m);
    while (stack.length > 0) {
      const pid = stack.pop()!;
      if (seen.has(pid)) continue;
      const info = this.#stat(pid);
      this.statReads++;
      // Gone, a zombie (its memory is freed; readProcTable leaves them out too), or a remembered
      // member whose pid now belongs to someone else (it left the group, or the pid was reused).
      const group = members.get(pid);
      if (!info || info.state === 'Z' || (group !== undefined && info.pgrp !== group)) {
        members.delete(pid);
        continue;
      }
      // Met in the root's group: followed by pid from now on, so it stays counted if orphaned.
      if (pid !== root && info.pgrp === root) members.set(pid, root);
      seen.set(pid, info);
      const kids = this.#children(pid);
      if (kids === null) {
        if (readProcStat(pid) === null) continue; // it ended between the two reads
        this.#walkable = false;
        return null;
      }
      for (const k of kids) stack.push(k);
    }
    return [...seen.values()];
  }

  /**
   * The walk, plus a scan of the machine for members of the groups the trees' processes lead that
   * the walk cannot reach; found ones are walked too (their children, their groups) until none is new.
   */
  #full(roots: readonly number[], now: number): Map<number, TreeUsage> {
    if (!this.#scan.start()) return this.#fullTable(roots, now);
    this.#lastFull = now;
    this.statReads = 0;
    const out = new Map<number, TreeUsage>();
    this.#members.clear();
    for (const r of roots) {
      const members = new Map<number, number>();
      this.#members.set(r, members);
      for (;;) {
        const tree = this.#walk(r, members);
        if (!tree) return this.#fullTable(roots, now);
        const groups = this.#scan.groupsIn(new Set(tree.map((p) => p.session)));
        const inTree = new Set(tree.map((p) => p.pid));
        let more = false;
        for (const p of tree) {
          for (const m of groups.get(p.pid) ?? []) {
            if (inTree.has(m) || members.has(m)) continue;
            members.set(m, p.pid);
            more = true;
          }
        }
        if (!more) {
          out.set(r, usageOf(tree));
          break;
        }
      }
    }
    this.statReads += this.#scan.reads;
    this.#files.sweep();
    return out;
  }

  /** Without children lists (or /proc listing): every process read, each tree found by treeOf. */
  #fullTable(roots: readonly number[], now: number): Map<number, TreeUsage> {
    this.#lastFull = now;
    const table = readProcTable();
    this.statReads = table.size;
    const out = new Map<number, TreeUsage>();
    this.#members.clear();
    for (const r of roots) {
      const tree = treeOf(r, table);
      this.#members.set(r, new Map(tree.filter((p) => p.pid !== r && p.pgrp === r).map((p) => [p.pid, r])));
      out.set(r, usageOf(tree));
    }
    return out;
  }
}

function usageOf(tree: readonly ProcInfo[]): TreeUsage {
  let rssBytes = 0;
  let cpuMs = 0;
  for (const p of tree) {
    rssBytes += p.rssBytes;
    cpuMs += p.cpuMs;
  }
  return { rssBytes, cpuMs, pids: tree.map((p) => p.pid) };
}
