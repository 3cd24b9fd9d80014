import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { TestColony } from './colony.js';

/**
 * A fresh one-bee colony and temp dir for every test (beforeEach), stopped and removed after it
 * (afterEach; TestColony.stop asserts its processes are gone): for tests that pin a task in a place
 * (the queen's queue, the hive's, the bee) or kill a bee, so no test inherits another's bee.
 * Call inside the describe.
 */
export interface OneBeeColony {
  readonly colony: TestColony;
  readonly tmp: string;
}

export function useOneBeeColony(tmpPrefix: string): OneBeeColony {
  let colony: TestColony | null = null;
  let tmp = '';
  beforeEach(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    colony = await TestColony.start({ bees: 1 });
  });
  afterEach(async () => {
    const dir = tmp;
    try {
      await colony?.stop();
    } finally {
      colony = null;
      tmp = '';
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    if (dir) expect(existsSync(dir)).toBe(false);
  });
  return {
    get colony() {
      if (!colony) throw new Error('one-bee colony: not started (beforeEach failed?)');
      return colony;
    },
    get tmp() {
      if (!tmp) throw new Error('one-bee colony: no temp dir (beforeEach failed?)');
      return tmp;
    },
  };
}
