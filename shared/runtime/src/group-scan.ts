import { readdirSync } from 'node:fs';
import { type ProcInfo, readProcStat } from './proc-table.js';

/** Every process is read again at least once in this many scans, whatever the last scan knew (see GroupScan). */
export const COMPLETE_SCAN_EVERY = 30;

/**
 * Finds process-group members among all the machine's processes, reading again only those that may
 * have joined a watched group since the last scan. A process group lies within one session, and a
 * process leaves its session only for a new one of its own (setsid): a process last read in a
 * session outside the watched ones cannot have joined a watched group since. So a scan reads the
 * pids new since the last one and those last seen in a watched session; the rest keep what was read.
 * Reading every process (~100 on a quiet machine) took ~3 ms, synchronous on the hive's event loop
 * every second; a scan is now one readdir of /proc plus a few reads.
 * A pid freed and handed out again between two scans looks known: the kernel hands pids out in a
 * cycle, so that takes pid_max forks in between. Still, each scan also reads one slice of the known
 * pids (pid % COMPLETE_SCAN_EVERY), so every one is read at least once per COMPLETE_SCAN_EVERY
 * scans: spread out, not one full read (a few ms on the event loop) every so often.
 */
export class GroupScan {
  /** What the scans read of each pid on the machine (zombies included), by pid. */
  readonly #known = new Map<number, ProcInfo>();
  /** Pids read in this scan. */
  readonly #fresh = new Set<number>();
  #pids: number[] = [];
  #scans = 0;
  /** This scan's slice of the known pids, read whatever their session (pid % COMPLETE_SCAN_EVERY). */
  #slice = 0;
  /** /proc/<pid>/stat files read since start() (how tests see what a scan read). */
  reads = 0;

  /** A new scan: the pids on the machine now. false when /proc cannot be listed. */
  start(): boolean {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return false;
    }
    this.reads = 0;
    this.#fresh.clear();
    this.#slice = this.#scans++ % COMPLETE_SCAN_EVERY;
    const now = new Set<number>();
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) now.add(Number(name));
    }
    for (const pid of this.#known.keys()) if (!now.has(pid)) this.#known.delete(pid);
    this.#pids = [...now];
    return true;
  }

  /**
   * Members of process groups in `sessions` (pgrp -> pids other than the leader, no zombies), read
   * fresh in this scan. Called again in one scan with more sessions, it reads only what it has not.
   */
  groupsIn(sessions: ReadonlySet<number>): Map<number, number[]> {
    for (const pid of this.#pids) {
      if (this.#fresh.has(pid)) continue;
      const last = this.#known.get(pid);
      if (last !== undefined && !sessions.has(last.session) && pid % COMPLETE_SCAN_EVERY !== this.#slice) continue;
      this.#fresh.add(pid);
      this.reads++;
      const info = readProcStat(pid);
      if (info) this.#known.set(pid, info);
      else this.#known.delete(pid); // it ended since the readdir
    }
    const groups = new Map<number, number[]>();
    for (const pid of this.#fresh) {
      const p = this.#known.get(pid);
      if (!p || p.state === 'Z' || p.pgrp === p.pid || !sessions.has(p.session)) continue;
      const list = groups.get(p.pgrp);
      if (list) list.push(pid);
      else groups.set(p.pgrp, [pid]);
    }
    return groups;
  }

  /** The pids this scan has read (how tests see what it left alone). */
  readPids(): ReadonlySet<number> {
    return this.#fresh;
  }

  /** Forget everything (the sampler is done with). */
  clear(): void {
    this.#known.clear();
    this.#fresh.clear();
    this.#pids = [];
  }
}
