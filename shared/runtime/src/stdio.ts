/**
 * A child process whose parent went away (a keeper killed, or exited on a second Ctrl-C) must still
 * run its own shutdown cascade. Its stdout/stderr are pipes to that parent: the next write fails with
 * EPIPE, and an unhandled stream 'error' would kill the process half-way through the cascade, leaving
 * what it was about to stop (a hung hive, a bee) behind. Output nobody can read is dropped instead.
 */
export function dropOutputWhenReaderGone(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => {
      // EPIPE (or a write after it): the reader is gone; carry on without output.
    });
  }
}
