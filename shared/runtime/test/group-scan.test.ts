import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPLETE_SCAN_EVERY, GroupScan, readProcStat, waitForExit } from '../src/index.js';

const started: ChildProcess[] = [];
/** An idle process in its own session and group (as a bee is), or in ours. */
const idle = (detached: boolean) => {
  const p = spawn('sleep', ['120'], { detached, stdio: 'ignore' });
  started.push(p);
  return p.pid!;
};

afterEach(async () => {
  const pids = started.splice(0).map((p) => p.pid!);
  for (const p of pids) process.kill(p, 'SIGKILL');
  expect(await waitForExit(pids, 5000)).toBe(true);
});

describe('GroupScan', () => {
  it('reads everything once, then only new pids and those in the watched sessions', () => {
    const before = idle(true);
    const scan = new GroupScan();
    expect(scan.start()).toBe(true);
    scan.groupsIn(new Set());
    expect(scan.readPids().has(before)).toBe(true);
    expect(scan.readPids().has(process.pid)).toBe(true);
    const after = idle(true);
    const ours = readProcStat(process.pid)!.session;
    expect(scan.start()).toBe(true);
    // Watching no session: the known ones are left alone (but for this scan's slice: the second
    // scan reads those with pid % COMPLETE_SCAN_EVERY === 1), the new one is read.
    const inSlice = (pid: number, scanIndex: number) => pid % COMPLETE_SCAN_EVERY === scanIndex % COMPLETE_SCAN_EVERY;
    scan.groupsIn(new Set());
    expect(scan.readPids().has(before)).toBe(inSlice(before, 1));
    expect(scan.readPids().has(process.pid)).toBe(inSlice(process.pid, 1));
    expect(scan.readPids().has(after)).toBe(true);
    // Watching a session reads again those last seen in it (in the same scan, adding to it).
    const member = idle(false); // our group and session, not its own
    scan.groupsIn(new Set([before]));
    expect(scan.readPids().has(before)).toBe(true);
    expect(scan.readPids().has(process.pid)).toBe(inSlice(process.pid, 1));
    // A scan started before it was born does not list it; the next one finds it in our group.
    expect(scan.start()).toBe(true);
    const groups = scan.groupsIn(new Set([ours]));
    expect(groups.get(readProcStat(process.pid)!.pgrp) ?? []).toContain(member);
    scan.clear();
  });

  it('reads every known process again within COMPLETE_SCAN_EVERY scans, a slice at a time', () => {
    const scan = new GroupScan();
    scan.start();
    scan.groupsIn(new Set());
    const known = [...scan.readPids()];
    const reread = new Set<number>();
    for (let i = 1; i <= COMPLETE_SCAN_EVERY; i++) {
      scan.start();
      scan.groupsIn(new Set());
      for (const p of scan.readPids()) reread.add(p);
      // A slice, not everything (new pids aside): about 1/COMPLETE_SCAN_EVERY of them.
      expect(scan.readPids().size).toBeLessThan(known.length);
    }
    const alive = known.filter((p) => readProcStat(p) !== null);
    expect(alive.filter((p) => !reread.has(p))).toEqual([]);
    scan.clear();
  });
});
