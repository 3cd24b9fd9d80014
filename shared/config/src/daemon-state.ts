import { readFileSync, rmSync } from 'node:fs';
import { pidAlive, processStartTime } from './liveness.js';
import type { DaemonPaths } from './paths.js';
import { writePrivateFile } from './secrets.js';

/** What a running queen daemon records about itself, for keepers on the same machine to find it. */
export interface DaemonState {
  url: string;
  pid: number;
  startedAt: number;
  /** The process's start time (processStartTime): a reused pid does not pass for the queen. Absent in old files. */
  startTime?: number;
  /** SHA-256 of the TLS certificate when the queen serves https (it listens beyond loopback): keepers pin it. */
  fingerprint?: string;
}

/** The daemon's state if its process is alive; a stale file (the queen was killed) reads as null. */
export function readDaemonState(p: DaemonPaths): DaemonState | null {
  try {
    const s = JSON.parse(readFileSync(p.stateFile, 'utf8')) as DaemonState;
    return Number.isInteger(s.pid) && typeof s.url === 'string' && pidAlive(s.pid, startTimeOf(s)) ? s : null;
  } catch {
    return null;
  }
}

function startTimeOf(s: DaemonState): number | undefined {
  return Number.isInteger(s.startTime) ? s.startTime : undefined;
}

/** The pidfile holds the pid alone; its start time is the state file's, when that names the same pid. */
export function readDaemonPid(p: DaemonPaths): number | null {
  try {
    const pid = Number(readFileSync(p.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return pidAlive(pid, stateStartTime(p, pid)) ? pid : null;
  } catch {
    return null;
  }
}

function stateStartTime(p: DaemonPaths, pid: number): number | undefined {
  try {
    const s = JSON.parse(readFileSync(p.stateFile, 'utf8')) as DaemonState;
    return s.pid === pid ? startTimeOf(s) : undefined;
  } catch {
    return undefined;
  }
}

/** Records the process's start time too (unless given), so a later reader can tell a reused pid. */
export function writeDaemonState(p: DaemonPaths, s: DaemonState): void {
  const state: DaemonState = { ...s, startTime: s.startTime ?? processStartTime(s.pid) };
  writePrivateFile(p.pidFile, `${s.pid}\n`);
  writePrivateFile(p.stateFile, JSON.stringify(state) + '\n');
}

export function removeDaemonState(p: DaemonPaths): void {
  rmSync(p.stateFile, { force: true });
  rmSync(p.pidFile, { force: true });
}
