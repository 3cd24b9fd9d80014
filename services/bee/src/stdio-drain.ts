/**
 * What a task printed may still sit in this process's stdout/stderr buffers when its pipe to the
 * hive was full (a task printing a lot): the hive captures output per attempt, so it must reach the
 * pipe before the result goes out on the IPC channel. Nothing to wait for (the usual case) costs
 * one check per stream.
 */
export async function drainStdio(): Promise<void> {
  for (const s of [process.stdout, process.stderr]) {
    if (s.writableLength > 0 && !s.destroyed) await new Promise<void>((r) => s.once('drain', r).once('close', r));
  }
}

/** Whether drainStdio has anything to wait for. */
export function stdioPending(): boolean {
  return process.stdout.writableLength > 0 || process.stderr.writableLength > 0;
}
