import { Worker } from 'node:worker_threads';

/**
 * A bee must not outlive its hive, even while a task blocks the event loop (a busy loop never lets
 * the IPC 'disconnect' event fire). A tiny worker thread watches the parent pid and, when the bee
 * is orphaned, kills the bee's whole process group: the bee and anything its task spawned.
 */
const SOURCE = `
const { workerData } = require('node:worker_threads');
const { ppid, pollMs } = workerData;
setInterval(() => {
  if (process.ppid !== ppid) {
    try { process.kill(-process.pid, 'SIGKILL'); } catch {}
    process.kill(process.pid, 'SIGKILL');
  }
}, pollMs);
`;

/** How often the watchdog checks for its hive: an orphaned bee is gone within about this long. */
export const ORPHAN_POLL_MS = 100;

/**
 * Arm the watchdog: its thread starts at the bee's first message from the hive (a task, or an abort),
 * before any task code runs. Until then nothing blocks the event loop, so the IPC 'disconnect'
 * handler alone ends an orphan; and the thread's own Node start-up (~50 ms of CPU on a small machine)
 * stays off the bee's fork → ready path, where it competed with a one-shot keeper loading its queen.
 */
export function startOrphanWatchdog(hivePid: number, pollMs = ORPHAN_POLL_MS): void {
  process.once('message', () => startWorker(hivePid, pollMs));
}

function startWorker(hivePid: number, pollMs: number): Worker {
  const w = new Worker(SOURCE, {
    eval: true,
    // The hive's pid from the env, not our ppid at this moment: if the hive died while we were still
    // loading, our ppid is already init's and comparing against it would never fire.
    workerData: { ppid: hivePid, pollMs },
    // A cap, not a reservation: the watchdog allocates almost nothing after start-up.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    stdout: false,
    stderr: false,
  });
  // Losing the watchdog must not take the bee down; the IPC 'disconnect' handler still guards it.
  w.on('error', (e) => process.stderr.write(`apiary bee: orphan watchdog stopped: ${e.message}\n`));
  w.unref();
  return w;
}

/** Kill our own process group (bee + task children) and ourselves. */
export function dieWithGroup(): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // not a group leader (started by hand): fall through
  }
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}
