import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, readProcEnviron, stopProcess } from '../src/index.js';

describe('readProcEnviron', () => {
  it("reads a live child's start environment exactly (values holding '='), and null once it is gone", async () => {
    const env = { PATH: process.env.PATH ?? '', APIARY_ENV_TEST: 'a=b=c', EMPTY_ONE: '' };
    const c = spawn(process.execPath, ['-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1000);"], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
    const pid = c.pid!;
    const reaped = new Promise((r) => c.once('exit', r)); // node reaps it: its /proc entry goes
    try {
      expect(readProcEnviron(pid)).toEqual(env);
    } finally {
      await stopProcess(pid, { graceMs: 5000 });
    }
    expect(isAlive(pid)).toBe(false);
    await reaped;
    expect(readProcEnviron(pid)).toBeNull();
  });
});
