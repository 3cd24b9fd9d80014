import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStartTime } from '@apiary/config';
import { makeTempRoot, OWNER_FILE, reclaimTempRoots, TEMP_ROOT_PREFIX } from '../src/frames/temp-roots.js';

/** A real process that has exited and been reaped: its pid (and start time) name no live process. */
async function deadProcess(): Promise<{ pid: number; startTime: number | undefined }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  const startTime = processStartTime(pid);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return { pid, startTime };
}

describe("ephemeral queens' temp data roots", () => {
  let tmp = '';
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-temproots-test-'));
  });
  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a SIGKILLed queen's root is reclaimed; a live queen's and an unmarked one are left alone", async () => {
    const dead = await deadProcess();
    const deadRoot = path.join(tmp, `${TEMP_ROOT_PREFIX}dead`);
    mkdirSync(path.join(deadRoot, 'frames', 'f', 'cells'), { recursive: true });
    writeFileSync(path.join(deadRoot, OWNER_FILE), JSON.stringify(dead));
    // Our own root: this process is alive.
    const live = makeTempRoot(tmp);
    // A root just made by another queen that has not written its owner yet.
    const unmarked = path.join(tmp, `${TEMP_ROOT_PREFIX}new`);
    mkdirSync(unmarked);
    // A reused pid: alive, but not the process that made the root (another start time).
    const reused = path.join(tmp, `${TEMP_ROOT_PREFIX}reused`);
    mkdirSync(reused);
    writeFileSync(path.join(reused, OWNER_FILE), JSON.stringify({ pid: process.pid, startTime: (processStartTime(process.pid) ?? 0) + 1 }));

    expect(reclaimTempRoots(tmp).sort()).toEqual([deadRoot, reused].sort());
    expect(existsSync(deadRoot)).toBe(false);
    expect(existsSync(reused)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(unmarked)).toBe(true);
    // Idempotent: nothing more to reclaim.
    expect(reclaimTempRoots(tmp)).toEqual([]);
  });
});
