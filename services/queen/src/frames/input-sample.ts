import { type FileHandle, open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { InputFormat } from '@apiary/protocol';

/**
 * What of a plain CSV a schema probe needs: DuckDB's sniffer reads the first 20,480 rows
 * (`sample_size`), so twice that many lines (a header, skipped or multi-line rows), but at most
 * 32 MiB (rows of 800 bytes), each cut after a whole line.
 */
export const CSV_SAMPLE_LINES = 2 * 20_480;
export const CSV_SAMPLE_BYTES = 32 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export interface InputSample {
  body: Readable;
  bytes: number;
  /** Set when the body is the end of a file this long (a Parquet footer): the hive rebuilds a sparse file of this size. */
  tailOf?: number;
}

/**
 * What a hive that fetches cells needs to DESCRIBE an input the way a bee reading it in place
 * would (input-schema.ts): a Parquet file's footer (the schema is all DESCRIBE reads; the hive
 * places it at the end of a sparse file of the true size), a plain CSV's first rows, and the whole
 * file for JSON (an array cannot be cut) and for compressed input (a cut stream is not one).
 */
export async function inputSample(file: string, format: InputFormat, size: number): Promise<InputSample> {
  const whole = (): InputSample => ({ body: createReadStream(file), bytes: size });
  if (/\.(gz|zst)$/i.test(file) || format === 'json') return whole();
  const fh = await open(file, 'r');
  try {
    if (format === 'parquet') {
      if (size < 12) return whole(); // not Parquet: let DuckDB say so
      const end = Buffer.alloc(8);
      await fh.read(end, 0, 8, size - 8);
      const tail = end.readUInt32LE(0) + 8;
      if (end.toString('latin1', 4) !== 'PAR1' || tail + 4 > size) return whole();
      return { body: createReadStream(file, { start: size - tail }), bytes: tail, tailOf: size };
    }
    const bytes = await csvSampleBytes(fh, size);
    return bytes >= size ? whole() : { body: createReadStream(file, { start: 0, end: bytes - 1 }), bytes };
  } finally {
    await fh.close();
  }
}

/** Bytes up to the end of line CSV_SAMPLE_LINES, else of the last whole line within CSV_SAMPLE_BYTES, else all. */
async function csvSampleBytes(fh: FileHandle, size: number): Promise<number> {
  const window = Math.min(size, CSV_SAMPLE_BYTES);
  const buf = Buffer.alloc(CHUNK);
  let lines = 0;
  let lastEnd = 0;
  for (let at = 0; at < window; at += CHUNK) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, window - at), at);
    for (let i = buf.indexOf(0x0a); i >= 0 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
      lastEnd = at + i + 1;
      if (++lines === CSV_SAMPLE_LINES) return lastEnd;
    }
    if (bytesRead === 0) break;
  }
  if (window === size) return size; // all of it: also a last line with no newline
  return lastEnd === 0 ? window : lastEnd; // a line longer than the window: the window as it is
}
