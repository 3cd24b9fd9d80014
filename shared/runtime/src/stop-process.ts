import { isAlive, killTree, waitForExit, waitUntil } from './process-tree.js';

/** After the SIGKILL, how long to wait for the kernel to reap the tree. */
const KILL_WAIT_MS = 2000;

export interface StopOptions {
  /** How long the process may take to exit by itself before its tree is killed. */
  graceMs: number;
  /** Sent first; null when it was already asked to stop (an HTTP shutdown, a hive told over its socket). */
  signal?: NodeJS.Signals | null;
  /** Called when the grace ran out, just before the SIGKILL (to log why). */
  onOverstay?: () => void;
  pollMs?: number;
}

/**
 * The one way a process stops another: SIGTERM (or nothing, when it was asked already), wait up
 * to graceMs for it to exit, then SIGKILL its whole tree and wait for that. 'exited' or 'killed'.
 */
export async function stopProcess(pid: number, o: StopOptions): Promise<'exited' | 'killed'> {
  const signal = o.signal === undefined ? 'SIGTERM' : o.signal;
  if (signal) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  if (await waitUntil(() => !isAlive(pid), o.graceMs, o.pollMs ?? 20)) return 'exited';
  o.onOverstay?.();
  killTree(pid, 'SIGKILL');
  await waitForExit([pid], KILL_WAIT_MS);
  return 'killed';
}
