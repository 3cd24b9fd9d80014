import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive, processStartTime } from '@apiary/config';

/**
 * Temp data roots of ephemeral queens. A queen removes its own when it stops; one that is SIGKILLed
 * (or whose keeper is) cannot, so each root names its owner (pid + start time) and every ephemeral
 * queen that starts removes the roots whose owner is gone. A root without an owner file is never
 * touched: it may be one another queen has just made and not yet marked.
 */
export const TEMP_ROOT_PREFIX = 'apiary-data-';
export const OWNER_FILE = '.owner';

interface Owner {
  pid: number;
  startTime?: number;
}

export function makeTempRoot(tmp = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(tmp, TEMP_ROOT_PREFIX));
  const owner: Owner = { pid: process.pid, startTime: processStartTime(process.pid) };
  writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner));
  return dir;
}

function ownerOf(dir: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as Partial<Owner>;
    return Number.isInteger(o.pid) ? { pid: o.pid as number, startTime: typeof o.startTime === 'number' ? o.startTime : undefined } : null;
  } catch {
    return null;
  }
}

/** Remove the temp roots under `tmp` whose owning queen is gone; returns the dirs removed. */
export function reclaimTempRoots(tmp = os.tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(TEMP_ROOT_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const dir = path.join(tmp, n);
    const o = ownerOf(dir);
    if (!o || pidAlive(o.pid, o.startTime)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
