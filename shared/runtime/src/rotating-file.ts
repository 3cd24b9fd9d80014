import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Log files: 10 MiB each, the live one and two rotated ones (<file>.1 newest, <file>.2 oldest): at most 30 MiB. */
export const LOG_ROTATION = { maxBytes: 10 * 1024 * 1024, files: 3 } as const;

/**
 * An append-only log file capped by rotation: a line that would take it past maxBytes first moves
 * <file> to <file>.1 (and .1 to .2, …, dropping the oldest), so at most `files` files of about
 * maxBytes exist. Written synchronously (a line is on disk before the call returns, so the last
 * lines before a crash are there); the writing process is the file's only writer. A write that
 * fails (disk full) is dropped: logging never takes the process down.
 */
export class RotatingFile {
  #fd: number;
  #size: number;

  constructor(
    readonly file: string,
    readonly maxBytes: number = LOG_ROTATION.maxBytes,
    readonly files: number = LOG_ROTATION.files,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1024) throw new RangeError(`log file size ${maxBytes}: at least 1024 bytes`);
    if (!Number.isInteger(files) || files < 1) throw new RangeError(`log files ${files}: at least 1`);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.#fd = openSync(file, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.maxBytes) this.#rotate();
    try {
      writeSync(this.#fd, line);
      this.#size += bytes;
    } catch {
      // disk full or the file system gone: drop the line rather than fail the caller
    }
  }

  #rotate(): void {
    try {
      closeSync(this.#fd);
      if (this.files === 1) rmSync(this.file, { force: true });
      else {
        rmSync(`${this.file}.${this.files - 1}`, { force: true });
        for (let i = this.files - 2; i >= 1; i--) renameIfThere(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        renameIfThere(this.file, `${this.file}.1`);
      }
    } catch {
      // a failed rename leaves the old file in place; we reopen it and carry on
    }
    this.#fd = openSync(this.file, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
