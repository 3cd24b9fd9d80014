import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { InputFormat } from '@apiary/protocol';

/**
 * Bytes of a plain CSV a schema probe needs: DuckDB's sniffer reads the first 20,480 rows
 * (`sample_size`), so 32 MiB covers rows of up to 1.6 KB; a larger file sends its first 32 MiB
 * cut after the last whole line.
 */
export const CSV_SAMPLE_BYTES = 32 * 1024 * 1024;

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
    if (size <= CSV_SAMPLE_BYTES) return whole();
    // The last newline within the window's final MiB ends the sample (a longer line: the window as it is).
    const look = Buffer.alloc(1024 * 1024);
    const from = CSV_SAMPLE_BYTES - look.length;
    const { bytesRead } = await fh.read(look, 0, look.length, from);
    const cut = look.subarray(0, bytesRead).lastIndexOf(0x0a);
    const bytes = cut < 0 ? CSV_SAMPLE_BYTES : from + cut + 1;
    return { body: createReadStream(file, { start: 0, end: bytes - 1 }), bytes };
  } finally {
    await fh.close();
  }
}
