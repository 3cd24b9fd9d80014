import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Scratch } from '../src/scratch.js';

// The bee trusts its scratch dir's mtime to skip a readdir after tasks that never touched scratch.
// A coarse kernel clock (before Linux 6.13) can leave the mtime unchanged when an entry is added
// within the tick of the last stamp; utimes puts the old time back to play that kernel here.
describe('bee scratch dir', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'apiary-scratch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a task started within a coarse tick of the last emptying is checked even if the mtime did not move', async () => {
    const now = new Date();
    utimesSync(dir, now, now);
    const s = new Scratch(dir);
    s.started();
    writeFileSync(path.join(dir, 'left-behind'), 'x');
    utimesSync(dir, now, now); // the coarse clock had not ticked
    expect(s.touched()).toBe(true);
    await s.reset();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a task started long after the stamp is trusted by mtime, and an added entry moves it', async () => {
    const old = new Date(Date.now() - 60_000);
    utimesSync(dir, old, old);
    const s = new Scratch(dir);
    s.started();
    expect(s.touched()).toBe(false);
    writeFileSync(path.join(dir, 'made'), 'x');
    expect(s.touched()).toBe(true);
    await s.reset();
    expect(readdirSync(dir)).toEqual([]);
  });
});
