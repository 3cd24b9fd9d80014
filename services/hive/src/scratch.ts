import { statSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Empty a scratch dir, keeping the dir itself. Cheap when it is already empty (the common case). */
export async function emptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(dir, { recursive: true });
      return;
    }
    throw e;
  }
  await Promise.all(entries.map((e) => rm(path.join(dir, e), { recursive: true, force: true })));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A scratch dir's mtime changes whenever an entry is added or removed in it. Comparing it with the
 * value seen right after the last emptying skips a readdir per task (most tasks never touch
 * scratch); anything created inside changes it, and nothing survives an emptying to hide in.
 */
export function dirStamp(dir: string): bigint {
  try {
    return statSync(dir, { bigint: true }).mtimeNs;
  } catch {
    return -1n;
  }
}
