import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forkBee } from '../src/bee-process.js';
import { closeEarlyBees, earlyBee, forkEarlyBee } from '../src/early-bee.js';

/*
 * A file of its own: closeEarlyBees is for good (the keeper is exiting), so nothing after it in
 * this process may fork a bee.
 */

const MiB = 1024 * 1024;

describe('closeEarlyBees: the keeper is going away before its hive took over', () => {
  let dir = '';

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kills and reaps the early bee, and no chamber forks a bee afterwards', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-early-close-'));
    const scratch = path.join(dir, 'bee-0');
    const pid = forkEarlyBee(0, 256 * MiB, scratch)!;
    await closeEarlyBees();
    expect(earlyBee()?.state).toBe('discarded');
    // Reaped, not a zombie: signal 0 finds no such process.
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    // The command was still loading meanwhile: its hive's first fork must not happen.
    expect(() => forkBee(0, 256 * MiB, scratch)).toThrow(/the keeper is exiting/);
  });
});
