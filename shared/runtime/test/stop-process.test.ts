import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, killTree, stopProcess } from '../src/index.js';

/** A real node child; `ignoreTerm` makes it survive SIGTERM. Resolves once it is running its script. */
async function child(ignoreTerm: boolean): Promise<number> {
  const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} process.stdout.write('up\\n'); setInterval(() => {}, 1000);`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
  return c.pid!;
}

describe('stopProcess', () => {
  it('a process that honours SIGTERM exits within the grace: "exited"', async () => {
    const pid = await child(false);
    try {
      expect(await stopProcess(pid, { graceMs: 10_000 })).toBe('exited');
      expect(isAlive(pid)).toBe(false);
    } finally {
      killTree(pid, 'SIGKILL');
    }
  });

  it('one that ignores SIGTERM is killed once the grace runs out, and the overstay is reported: "killed"', async () => {
    const pid = await child(true);
    let overstayed = false;
    try {
      expect(await stopProcess(pid, { graceMs: 300, onOverstay: () => (overstayed = true) })).toBe('killed');
      expect(overstayed).toBe(true);
      expect(isAlive(pid)).toBe(false);
    } finally {
      killTree(pid, 'SIGKILL');
    }
  });

  it('signal null sends nothing: a live process is only waited for, then killed', async () => {
    const pid = await child(false);
    try {
      // It would exit on SIGTERM; with none sent it is still there when the grace ends.
      expect(await stopProcess(pid, { graceMs: 200, signal: null })).toBe('killed');
      expect(isAlive(pid)).toBe(false);
    } finally {
      killTree(pid, 'SIGKILL');
    }
  });
});
