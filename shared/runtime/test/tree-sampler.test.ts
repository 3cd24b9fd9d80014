import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { childPids, killTree, readProcStat, readProcTable, TreeSampler, waitForExit, waitUntil } from '../src/index.js';

/**
 * A process tree made for the test: a root in its own process group (as a bee is) running `script`,
 * which prints the pids it wants the test to know, one per line.
 */
const started: number[] = [];

/** How long a test waits for a process tree to reach the state it set up (a few spawns). */
const WAIT_MS = 10_000;

async function tree(script: string, lines: number): Promise<{ root: ChildProcess; pids: number[] }> {
  const root = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(root.pid!);
  const pids: number[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    root.once('exit', () => reject(new Error('the test tree exited early')));
    root.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const all = buf.split('\n').filter((l) => l.length > 0);
      if (all.length >= lines) {
        pids.push(...all.slice(0, lines).map(Number));
        started.push(...pids);
        resolve();
      }
    });
  });
  return { root, pids };
}

afterEach(async () => {
  const pids = started.splice(0);
  for (const p of pids) killTree(p, 'SIGKILL');
  expect(await waitForExit(pids, 5000)).toBe(true);
});

const spawnJs = (code: string, opts: string) => `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(code)}], ${opts})`;

/** Start `root` (node -e, stdin piped) in a group of its own; each pid it prints lands in `lines`, and in `started` for cleanup. */
function spawnReporting(root: string): { r: ChildProcess; lines: number[] } {
  const r = spawn(process.execPath, ['-e', root], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(r.pid!);
  const lines: number[] = [];
  r.stdout!.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n')) if (l.length > 0) lines.push(Number(l));
    started.push(...lines);
  });
  return { r, lines };
}

describe('TreeSampler', () => {
  it("walks down the children lists: a grandchild in another process group is counted, and only the tree's own processes are read", async () => {
    // root -> child (same group) -> grandchild (detached: its own group, found only by parent links)
    const grandchild = 'setInterval(() => {}, 1000)';
    const child = `const g = ${spawnJs(grandchild, "{ detached: true, stdio: 'ignore' }")}; console.log(g.pid); setInterval(() => {}, 1000)`;
    const root = `const c = ${spawnJs(child, "{ stdio: ['ignore', 'pipe', 'inherit'] }")}; console.log(c.pid); c.stdout.pipe(process.stdout); setInterval(() => {}, 1000)`;
    const { root: r, pids } = await tree(root, 2);
    const [c, g] = pids as [number, number];
    const sampler = new TreeSampler(60_000);
    const first = sampler.sample([r.pid!], 0); // the first sample is a full pass: every process read
    expect(sampler.statReads).toBeGreaterThan(3);
    const walked = sampler.sample([r.pid!], 1);
    const u = walked.get(r.pid!)!;
    expect(new Set(u.pids)).toEqual(new Set([r.pid!, c, g]));
    expect(new Set(first.get(r.pid!)!.pids)).toEqual(new Set(u.pids));
    // The walk read the three processes' stats, not the machine's (this runner alone is several).
    expect(sampler.statReads).toBe(3);
    expect(readProcTable().size).toBeGreaterThan(3);
    // RSS is the sum over the tree (each read moves a little: compare with a few MiB of slack).
    const sum = [r.pid!, c, g].reduce((s, p) => s + (readProcStat(p)?.rssBytes ?? 0), 0);
    expect(u.rssBytes).toBeGreaterThan(0);
    expect(Math.abs(u.rssBytes - sum)).toBeLessThan(8 * 1024 * 1024);
  });

  it('an orphaned member of the root group (its parent exited) is found by the next full pass and followed by pid after it', async () => {
    // root -> middle (same group) -> orphan (same group); middle prints the orphan's pid and exits,
    // so the orphan is reparented away from the root's tree but stays in its process group.
    const middle = `const o = require('child_process').spawn('sleep', ['120'], { stdio: 'ignore' }); console.log(o.pid); process.exit(0)`;
    const root = `const m = ${spawnJs(middle, "{ stdio: ['ignore', 'pipe', 'inherit'] }")}; m.stdout.pipe(process.stdout); setInterval(() => {}, 1000)`;
    const sampler = new TreeSampler(1000);
    const { root: r, pids } = await tree(root, 1);
    const orphan = pids[0]!;
    // The middle exited and was reaped (the root has no child left, not even a zombie) while the
    // orphan lives on elsewhere.
    expect(await waitUntil(() => childPids(r.pid!)?.length === 0 && readProcStat(orphan) !== null, WAIT_MS)).toBe(true);
    expect(readProcStat(orphan)?.pgrp).toBe(r.pid);
    // A full pass (the first sample) finds it by its group; the walks after it keep it by pid.
    expect(sampler.sample([r.pid!], 0).get(r.pid!)!.pids).toContain(orphan);
    expect(sampler.sample([r.pid!], 500).get(r.pid!)!.pids).toContain(orphan);
    expect(sampler.statReads).toBe(2);
    // Once it is gone it leaves the tree.
    process.kill(orphan, 'SIGKILL');
    expect(await waitForExit([orphan], 5000)).toBe(true);
    expect(sampler.sample([r.pid!], 600).get(r.pid!)!.pids).toEqual([r.pid]);
  });

  it('a group member orphaned after a full pass is not followed until the next one, which comes FULL_SCAN_MS later', async () => {
    const middle = `setTimeout(() => { const o = require('child_process').spawn('sleep', ['120'], { stdio: 'ignore' }); console.log(o.pid); process.exit(0) }, 200)`;
    const root = `const m = ${spawnJs(middle, "{ stdio: ['ignore', 'pipe', 'inherit'] }")}; m.stdout.pipe(process.stdout); setInterval(() => {}, 1000)`;
    const fullScanMs = 1000;
    const sampler = new TreeSampler(fullScanMs);
    const rootProc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    started.push(rootProc.pid!);
    // Sampling an unrelated tree first fixes the time of the full pass.
    sampler.sample([rootProc.pid!], 0);
    const { root: r, pids } = await tree(root, 1);
    const orphan = pids[0]!;
    expect(await waitUntil(() => childPids(r.pid!)?.length === 0 && readProcStat(orphan) !== null, WAIT_MS)).toBe(true);
    expect(sampler.sample([r.pid!], fullScanMs - 1).get(r.pid!)!.pids).not.toContain(orphan);
    expect(sampler.sample([r.pid!], fullScanMs).get(r.pid!)!.pids).toContain(orphan);
  });

  it('a group member a walk met is followed by pid once orphaned, with no full pass', async () => {
    // root -> middle (same group) -> member (same group); the middle exits when told (stdin).
    const middle = `const o = require('child_process').spawn('sleep', ['120'], { stdio: 'ignore' }); console.log(o.pid); process.stdin.once('data', () => process.exit(0))`;
    const root = `const m = ${spawnJs(middle, "{ stdio: ['pipe', 'pipe', 'inherit'] }")}; m.stdout.pipe(process.stdout); process.stdin.pipe(m.stdin); setInterval(() => {}, 1000)`;
    const { r, lines } = spawnReporting(root);
    expect(await waitUntil(() => lines.length === 1, WAIT_MS)).toBe(true);
    const member = lines[0]!;
    const sampler = new TreeSampler(60_000);
    try {
      sampler.sample([r.pid!], 0); // full pass
      expect(sampler.sample([r.pid!], 1).get(r.pid!)!.pids).toContain(member);
      r.stdin!.write('go\n');
      expect(await waitUntil(() => childPids(r.pid!)?.length === 0 && readProcStat(member) !== null, WAIT_MS)).toBe(true);
      // No full pass for 60 s: the walk keeps it by pid.
      expect(sampler.sample([r.pid!], 2).get(r.pid!)!.pids).toContain(member);
    } finally {
      sampler.close();
    }
  });

  it('walks with kept files see what changed since they were opened: a grandchild forked later counts, a gone one leaves and its files are closed', async () => {
    // root -> child; the child forks a grandchild (same group, a few MiB of its own) only when told (stdin).
    const grandchild = 'const b = Buffer.alloc(32 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)';
    const child = `process.stdin.once('data', () => { const g = ${spawnJs(grandchild, "{ stdio: 'ignore' }")}; console.log(g.pid) }); setInterval(() => {}, 1000)`;
    const root = `const c = ${spawnJs(child, "{ stdio: ['pipe', 'pipe', 'inherit'] }")}; console.log(c.pid); c.stdout.pipe(process.stdout); process.stdin.pipe(c.stdin); setInterval(() => {}, 1000)`;
    const { r, lines } = spawnReporting(root);
    expect(await waitUntil(() => lines.length === 1, WAIT_MS)).toBe(true);
    const c = lines[0]!;
    const sampler = new TreeSampler(60_000);
    try {
      sampler.sample([r.pid!], 0); // full pass
      const before = sampler.sample([r.pid!], 1).get(r.pid!)!; // the walk opens its files now
      expect(new Set(before.pids)).toEqual(new Set([r.pid!, c]));
      r.stdin!.write('go\n');
      expect(await waitUntil(() => lines.length === 2, WAIT_MS)).toBe(true);
      const g = lines[1]!;
      // The grandchild's 32 MiB are touched once it runs: wait until its own RSS shows them.
      expect(await waitUntil(() => (readProcStat(g)?.rssBytes ?? 0) > 32 * 1024 * 1024, WAIT_MS)).toBe(true);
      const after = sampler.sample([r.pid!], 2).get(r.pid!)!;
      // Found through the child's kept children file (no full pass: the sampler's is 60 s away).
      expect(new Set(after.pids)).toEqual(new Set([r.pid!, c, g]));
      expect(after.rssBytes - before.rssBytes).toBeGreaterThan(32 * 1024 * 1024);
      const ofG = (paths: string[]) => paths.filter((f) => f.startsWith(`/proc/${g}/`));
      expect(ofG(sampler.openFiles())).toContain(`/proc/${g}/stat`);
      process.kill(g, 'SIGKILL');
      expect(await waitUntil(() => !(childPids(c) ?? []).includes(g), WAIT_MS)).toBe(true);
      expect(new Set(sampler.sample([r.pid!], 3).get(r.pid!)!.pids)).toEqual(new Set([r.pid!, c]));
      // The grandchild's files (its stat and its threads' children lists) were closed.
      expect(ofG(sampler.openFiles())).toEqual([]);
      expect(sampler.openFiles()).toContain(`/proc/${c}/stat`);
    } finally {
      sampler.close();
    }
    expect(sampler.openFiles()).toEqual([]);
  });
});
