import { readFileSync } from 'node:fs';

/** A process's state letter and start time (clock ticks since boot) from /proc/PID/stat; null if gone or no /proc. */
function procStat(pid: number): { state: string; startTime: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start past the LAST ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  const startTime = Number(rest[19]);
  return rest[0] && Number.isInteger(startTime) ? { state: rest[0], startTime } : null;
}

function hasProcfs(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** When a process started (clock ticks since boot): with the pid, it names one process for good. undefined without /proc. */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/**
 * Whether a pid recorded in a file still names a running process. A zombie is dead (it has exited,
 * only its parent has not reaped it). With `startTime` (from processStartTime when the file was
 * written), a pid the kernel has since given to another process is dead too; files without one
 * (written before start times were recorded) are checked by pid alone.
 */
export function pidAlive(pid: number, startTime?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(pid);
  if (!st) return !hasProcfs();
  if (st.state === 'Z') return false;
  return startTime === undefined || st.startTime === startTime;
}
