/**
 * Node writes to a piped stdout asynchronously on Linux: what the reader has not taken yet waits in
 * the stream's buffer, and process.exit() drops it. Measured: `keeper sql --format csv` of a million
 * rows to a slow reader lost its last ~600 rows and still exited 0. So the keeper exits only once
 * stdout and stderr have handed everything to the kernel. A reader that has gone (EPIPE) ends the
 * wait too; a reader that never reads blocks the keeper, as it would block `cat`.
 */
export function flushed(s: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || !s.writable || s.writableLength === 0) {
      resolve();
      return;
    }
    // Writes are ordered: the callback of an empty write runs once everything before it is out.
    s.write('', () => resolve());
  });
}

/** Exit with `code` once stdout and stderr are flushed; `maxWaitMs` bounds the wait (an interrupted run). */
export async function exitFlushed(code: number, maxWaitMs?: number): Promise<never> {
  const both = Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  if (maxWaitMs === undefined) await both;
  else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([both, new Promise<void>((r) => (timer = setTimeout(r, maxWaitMs)))]);
    clearTimeout(timer);
  }
  process.exit(code);
}
