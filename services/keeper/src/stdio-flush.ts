/**
 * 128 + SIGPIPE (13): the status a shell shows for a writer whose reader went away, as for
 * `seq 1e9 | head -1` under `set -o pipefail`. Not 0: the keeper did not print everything it was
 * asked to (a script that piped it into a reader that failed should be able to tell).
 */
export const EXIT_READER_GONE = 141;

/**
 * Node writes to a piped stdout asynchronously on Linux: what the reader has not taken yet waits in
 * the stream's buffer, and process.exit() drops it. Measured: `keeper sql --format csv` of a million
 * rows to a slow reader lost its last ~600 rows and still exited 0. So the keeper exits only once
 * stdout and stderr have handed everything to the kernel. A reader that has gone (EPIPE) ends the
 * wait too; a reader that never reads blocks the keeper, as it would block `cat`.
 * Resolves with the stream's error (EPIPE: the reader went before taking everything), else null.
 */
export function flushed(s: NodeJS.WriteStream): Promise<Error | null> {
  return new Promise((resolve) => {
    if (s.destroyed || !s.writable || s.writableLength === 0) {
      resolve(s.errored ?? null);
      return;
    }
    // Writes are ordered: the callback of an empty write runs once everything before it is out.
    s.write('', (e) => resolve(e ?? null));
  });
}

/** Exit with `code` once stdout and stderr are flushed; `maxWaitMs` bounds the wait (an interrupted run). */
export async function exitFlushed(code: number, maxWaitMs?: number): Promise<never> {
  const both = Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  if (maxWaitMs === undefined) {
    // A command's last big write (a table, JSON) that its reader did not take: as a gone reader mid-stream.
    const [out] = await both;
    if (code === 0 && (out as NodeJS.ErrnoException | null)?.code === 'EPIPE') code = EXIT_READER_GONE;
  } else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([both, new Promise<void>((r) => (timer = setTimeout(r, maxWaitMs)))]);
    clearTimeout(timer);
  }
  process.exit(code);
}

let onGone: (code: number) => void = (code) => process.exit(code);

/** What to do instead when stdout fails (the session: cancel its tasks, stop its colony, then exit `code`). */
export function onReaderGone(fn: (code: number) => void): void {
  onGone = fn;
}

/**
 * A reader of stdout that goes away (`keeper sql … | head -1`) ends the command quietly: nothing
 * more can be printed, so no stack trace, no message. Node ignores SIGPIPE and reports it as EPIPE
 * on the stream instead; without a listener that error is thrown. A gone stderr is dropped:
 * there is nowhere to report it. Other stdout errors (a full disk) are reported and exit 1.
 */
export function endQuietlyOnReaderGone(): void {
  let ended = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (ended) return;
    ended = true;
    if (e.code !== 'EPIPE') process.stderr.write(`keeper: cannot write the output: ${e.message}\n`);
    onGone(e.code === 'EPIPE' ? EXIT_READER_GONE : 1);
  });
  process.stderr.on('error', () => undefined);
}
