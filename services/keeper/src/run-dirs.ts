import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '@apiary/runtime';

/**
 * Run dirs left by keepers that were SIGKILLed (their queen cascaded, but nobody removed the dir):
 * a dir whose keeper pid is gone is ours to remove.
 */
export async function sweepStaleRunDirs(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const e of entries) {
    const pid = Number(e.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) await rm(path.join(dir, e), { recursive: true, force: true });
  }
}
