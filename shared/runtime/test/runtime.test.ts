import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createLogger, FifoQueue, isAlive, killTree, parseStat, readProcTable, StateMachine, treeOf, waitForExit, waitUntil } from '../src/index.js';

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

describe('FifoQueue', () => {
  it('keeps order across many pushes and shifts, and removes by predicate', () => {
    const q = new FifoQueue<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) expect(q.shift()).toBe(i);
    expect(q.removeWhere((x) => x % 2 === 0)).toHaveLength(1000);
    expect(q.peek()).toBe(3001);
    expect(q.toArray().slice(0, 3)).toEqual([3001, 3003, 3005]);
    expect(q.length).toBe(1000);
  });
});

describe('StateMachine', () => {
  it('allows only the listed transitions', () => {
    const m = new StateMachine<'a' | 'b' | 'c'>(
      'm',
      'a',
      { a: ['b'], b: ['c'], c: [] },
      createLogger('t', () => {}),
    );
    m.to('b');
    expect(() => m.to('a')).toThrow(/illegal transition b → a/);
    m.to('c');
    expect(m.state).toBe('c');
  });
});

describe('process table', () => {
  it('parses /proc/<pid>/stat even when the command name has spaces and parens', () => {
    const line = '123 (my (odd) name) S 1 123 123 0 -1 4194560 100 0 0 0 50 25 0 0 20 0 1 0 100 1000000 300 18446744073709551615';
    expect(parseStat(line, 4096, 100)).toMatchObject({ pid: 123, ppid: 1, pgrp: 123, state: 'S', cpuMs: 750, rssBytes: 300 * 4096 });
  });

  it('finds and kills a whole tree, including a child that moved to its own group', async () => {
    // sh (own group) → sleep (same group) and a setsid'd sleep (own session and group)
    const sh = spawn('sh', ['-c', 'sleep 30 & setsid sleep 31 & wait'], { detached: true, stdio: 'ignore' });
    const tree = () => treeOf(sh.pid!, readProcTable()).map((p) => p.pid);
    let seen: number[] = [];
    try {
      // Until both children have been forked (a loaded machine may take a while to start them).
      const forked = () => {
        seen = tree();
        return seen.length === 3;
      };
      expect(await waitUntil(forked, 10_000), `tree: ${seen.join(', ')}`).toBe(true);
      // ...and each has exec'd sleep: a kill must reach the real process, not a shell about to exec.
      expect(
        await waitUntil(
          () =>
            tree()
              .filter((p) => p !== sh.pid)
              .every((p) => /^sleep\0/.test(cmdline(p))),
          10_000,
        ),
      ).toBe(true);
      seen = tree();
      killTree(sh.pid!, 'SIGKILL');
      expect(await waitForExit(seen, 2000)).toBe(true);
      expect(seen.some(isAlive)).toBe(false);
    } finally {
      // After a failure: whatever of ours is still there (checked by command, never a reused pid).
      for (const p of new Set([sh.pid!, ...seen])) if (/^(sh|sleep)\0/.test(cmdline(p))) process.kill(p, 'SIGKILL');
    }
  });
});
