import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/**
 * /proc files kept open between polls and re-read at offset 0 (the kernel regenerates a /proc file
 * on a read from its start). Opening a /proc file costs more than reading it: a fresh
 * readFileSync of a stat or children file measured 50-110 us, a pread of a kept fd 9-14 us. An fd
 * names the process it was opened for, not its pid number: once that process is gone a read fails
 * (ESRCH) or gives nothing, even if the pid is reused. Files not read in a sweep() round are closed.
 */
export class ProcFiles {
  readonly #fds = new Map<string, number>();
  #used = new Set<string>();
  #buf = Buffer.allocUnsafe(4096);

  /** The file's text now; null when it cannot be opened or read (the process or thread is gone, or no such file). */
  read(path: string): string | null {
    this.#used.add(path);
    let fd = this.#fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch {
        return null;
      }
      this.#fds.set(path, fd);
    }
    try {
      let n = 0;
      for (;;) {
        const got = readSync(fd, this.#buf, n, this.#buf.length - n, n);
        n += got;
        if (got === 0 || n < this.#buf.length) break;
        // A long file (many children): grow the buffer and read on from where this read stopped.
        const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, n);
        this.#buf = bigger;
      }
      return this.#buf.toString('latin1', 0, n);
    } catch {
      this.#close(path);
      return null;
    }
  }

  /** Thread ids of a process (/proc/<pid>/task); null when it is gone. */
  tids(pid: number): string[] | null {
    try {
      return readdirSync(`/proc/${pid}/task`);
    } catch {
      return null;
    }
  }

  /** Close every file not read since the last sweep (processes and threads that left the trees). */
  sweep(): void {
    for (const path of this.#fds.keys()) if (!this.#used.has(path)) this.#close(path);
    this.#used = new Set();
  }

  /** Close everything. */
  close(): void {
    for (const path of [...this.#fds.keys()]) this.#close(path);
  }

  /** The files open now (how tests see that the gone are closed). */
  paths(): string[] {
    return [...this.#fds.keys()];
  }

  #close(path: string): void {
    const fd = this.#fds.get(path);
    this.#fds.delete(path);
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  }
}
