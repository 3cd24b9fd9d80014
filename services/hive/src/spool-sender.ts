import { open, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ChangeWatch } from '@apiary/runtime';

/** Bytes read from the growing file at a time. */
const READ_BYTES = 1 << 20;

/**
 * A streamed result on a hive that cannot see the queen's data root (specs/frames.md#streamed-results):
 * the bee writes its NDJSON to a local file, and this hands the file's bytes to one chunked
 * `PUT /v1/cells/queries/<id>/result.ndjson` as they are written, so the queen tails its own copy as
 * with a local bee. `end()` once the bee has finished (the rest is read, then the body ends);
 * `abort()` when it failed (the request breaks off: the queen drops the half-sent result).
 */
export class SpoolSender {
  readonly body: Readable;
  #ended = false;
  /** The bee's writes wake the reader (fs.watch on the file, with a fallback poll). */
  readonly #changes: ChangeWatch;

  private constructor(readonly file: string) {
    this.#changes = new ChangeWatch(file);
    this.body = Readable.from(this.#chunks(), { objectMode: false });
  }

  /** Create the (empty) local file the bee writes, and the sender that follows it. */
  static async create(file: string): Promise<SpoolSender> {
    await writeFile(file, '', { mode: 0o600 });
    return new SpoolSender(file);
  }

  async *#chunks(): AsyncGenerator<Buffer> {
    const fh = await open(this.file, 'r');
    let pos = 0;
    try {
      for (;;) {
        // Ended before this read: the bee had finished writing, so an empty read is the end.
        const ended = this.#ended;
        this.#changes.reading();
        const buf = Buffer.allocUnsafe(READ_BYTES);
        const { bytesRead } = await fh.read(buf, 0, READ_BYTES, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          yield buf.subarray(0, bytesRead);
          continue;
        }
        if (ended) return;
        await this.#changes.wait();
      }
    } finally {
      this.#changes.close();
      await fh.close();
    }
  }

  /** The bee has written everything: send what is left, then end the body. */
  end(): void {
    this.#ended = true;
    this.#changes.wake();
  }

  /** Break the upload off (the task failed or was cancelled). */
  abort(): void {
    this.#ended = true;
    this.#changes.close();
    this.body.destroy(new Error('the streamed result was abandoned'));
  }
}
