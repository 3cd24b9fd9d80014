import treeKill from 'tree-kill';
import pidusage from 'pidusage';
import { HAS_PROCFS, readProcStat, readProcTable, treeOf } from './proc-table.js';

/** True while a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!HAS_PROCFS) return true;
  // Its own stat only (a zombie still answers kill 0): not a read of every process on the machine.
  const s = readProcStat(pid);
  return s !== null && s.state !== 'Z';
}

/**
 * Signal a process, its whole tree and its process group. Children that escaped the group (setsid)
 * are still found by parent link; on systems without /proc, tree-kill walks `ps` instead.
 */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL', opts: { group?: boolean } = {}): number[] {
  const group = opts.group ?? true;
  let pids: number[] = [pid];
  if (HAS_PROCFS) {
    pids = treeOf(pid, readProcTable()).map((p) => p.pid);
    if (!pids.includes(pid)) pids.push(pid);
  } else {
    treeKill(pid, signal);
  }
  if (group) {
    try {
      process.kill(-pid, signal);
    } catch {
      // not a group leader, or the group is already gone
    }
  }
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return pids;
}

/** Resolve once none of the pids is alive, or false after timeoutMs. */
export async function waitForExit(pids: number[], timeoutMs: number, pollMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pids.every((p) => !isAlive(p))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface TreeUsage {
  rssBytes: number;
  cpuMs: number;
  pids: number[];
}

/** RSS and CPU time of each root's whole tree, from one /proc pass (pidusage of the root elsewhere). */
export async function treeUsage(roots: number[]): Promise<Map<number, TreeUsage>> {
  const out = new Map<number, TreeUsage>();
  if (HAS_PROCFS) {
    const table = readProcTable();
    for (const r of roots) {
      const tree = treeOf(r, table);
      out.set(r, {
        rssBytes: tree.reduce((s, p) => s + p.rssBytes, 0),
        cpuMs: tree.reduce((s, p) => s + p.cpuMs, 0),
        pids: tree.map((p) => p.pid),
      });
    }
    return out;
  }
  const stats = roots.length > 0 ? await pidusage(roots).catch(() => ({}) as Record<string, pidusage.Status>) : {};
  for (const r of roots) {
    const s = (stats as Record<string, pidusage.Status | undefined>)[String(r)];
    out.set(r, { rssBytes: s?.memory ?? 0, cpuMs: s?.ctime ?? 0, pids: [r] });
  }
  return out;
}

/** Poll `pred` until it holds (true) or timeoutMs pass (false). For conditions that have no event. */
export async function waitUntil(pred: () => boolean, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}
