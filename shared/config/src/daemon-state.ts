import { readFileSync, rmSync } from 'node:fs';
import type { DaemonPaths } from './paths.js';
import { writePrivateFile } from './secrets.js';

/** What a running queen daemon records about itself, for keepers on the same machine to find it. */
export interface DaemonState {
  url: string;
  pid: number;
  startedAt: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The daemon's state if its process is alive; a stale file (the queen was killed) reads as null. */
export function readDaemonState(p: DaemonPaths): DaemonState | null {
  try {
    const s = JSON.parse(readFileSync(p.stateFile, 'utf8')) as DaemonState;
    return Number.isInteger(s.pid) && typeof s.url === 'string' && pidAlive(s.pid) ? s : null;
  } catch {
    return null;
  }
}

export function readDaemonPid(p: DaemonPaths): number | null {
  try {
    const pid = Number(readFileSync(p.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function writeDaemonState(p: DaemonPaths, s: DaemonState): void {
  writePrivateFile(p.pidFile, `${s.pid}\n`);
  writePrivateFile(p.stateFile, JSON.stringify(s) + '\n');
}

export function removeDaemonState(p: DaemonPaths): void {
  rmSync(p.stateFile, { force: true });
  rmSync(p.pidFile, { force: true });
}
