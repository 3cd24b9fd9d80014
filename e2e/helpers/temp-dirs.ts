import { type Dirent, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { tempHome } from './colony.js';
import { killAll, pidsWithHome } from './procs.js';

/**
 * A temp dir for the describe block this is called in: made in its beforeAll, removed in its
 * afterAll. Not at the block's top level: a block whose tests `-t` filters out runs no hooks, and
 * a dir made while the block is collected would be left behind. Call it before the block's own
 * beforeAll that uses the dir (hooks run in order; after-hooks in reverse, so it goes last).
 */
export function useTempDir(prefix: string): () => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });
  return () => {
    if (!dir) throw new Error(`useTempDir(${prefix}): read outside its block's hooks and tests`);
    return dir;
  };
}

/**
 * A fresh APIARY_HOME for each test of the block, and after each the check that nothing is left:
 * every process still running with that home is killed (so one failure does not leak into the next
 * test) and reported as a failure, and the home is removed.
 */
export function useTempHome(): () => string {
  let home = '';
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    const left = pidsWithHome(home);
    killAll(left);
    rmSync(home, { recursive: true, force: true });
    expect(left, 'processes left behind').toEqual([]);
  });
  return () => home;
}

/** Every file under dir (relative paths, sorted; directories left out), or [] when dir does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
