import { readdirSync } from 'node:fs';
import { readProcEnviron, readProcStat } from '@apiary/runtime';

/** Pids of every live process whose environment has APIARY_HOME=home: all a test run started. */
export function pidsWithHome(home: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.state === 'Z') continue;
    // null: gone, or not ours to read
    if (readProcEnviron(pid)?.APIARY_HOME === home) out.push(pid);
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Wait until none of the pids is alive; returns the ms it took, or throws naming the survivors. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`still alive after ${timeoutMs} ms: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Last-resort cleanup so one failing test cannot leak into the next. */
export function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function waitFor<T>(f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
