import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ApiaryError } from '@apiary/protocol';

export type FileChecksums = Record<string, { sha256: string; bytes: number }>;

/**
 * sha256 and size of each map partial, by absolute path, read back once every map step is done
 * (a fetching hive has sent its partial by then). The merge task carries them like cells' checksums,
 * so a hive that fetches a partial checks it (CELL_FETCH_FAILED on a mismatch).
 */
export async function partialChecksums(files: readonly string[]): Promise<FileChecksums> {
  const out: FileChecksums = {};
  await Promise.all(
    files.map(async (f) => {
      try {
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(f)) hash.update(chunk as Buffer);
        out[f] = { sha256: hash.digest('hex'), bytes: (await stat(f)).size };
      } catch (e) {
        throw new ApiaryError('INTERNAL', `a map step's partial is missing or unreadable: ${(e as Error).message}`);
      }
    }),
  );
  return out;
}
