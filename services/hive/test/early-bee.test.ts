import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAlive, waitForExit, waitUntil as pollUntil } from '@apiary/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forkBee } from '../src/bee-process.js';
import { splitBudget } from '../src/budget.js';
import { discardEarlyBee, earlyBee, forkEarlyBee } from '../src/early-bee.js';

/*
 * A bee a one-shot keeper forks before its hive exists (early-bee.ts), and the chamber's fork
 * (bee-process.ts forkBee) that adopts it only when it would fork exactly that bee. Real bees.
 */

const MiB = 1024 * 1024;
const TASKS = pathToFileURL(path.resolve(import.meta.dirname, '../../../e2e/fixtures/tasks.mjs')).href;
/** A bee's start (Node, the bee bundle) on a loaded 2-core machine, with room to spare. */
const BEE_START_MS = 20_000;

/** No process with that pid at all: killed and reaped (a zombie still answers signal 0). */
const reaped = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

const nextMessage = (child: ChildProcess, type: string) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message within ${BEE_START_MS} ms`)), BEE_START_MS);
    const on = (m: Record<string, unknown>) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });

/** The runtime's poll, failing with what was awaited. */
async function waitUntil(f: () => boolean, what: string): Promise<void> {
  if (!(await pollUntil(f, BEE_START_MS))) throw new Error(`timed out waiting for ${what}`);
}

describe('early bee: forked before its hive, adopted by the chamber that would fork the same bee', () => {
  let dir = '';
  let scratch = '';
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-early-bee-'));
    scratch = path.join(dir, 'bee-0');
  });

  afterEach(async () => {
    await discardEarlyBee();
    const pids = children.splice(0).flatMap((c) => (c.pid !== undefined && c.exitCode === null && c.signalCode === null ? [c.pid] : []));
    for (const p of pids) process.kill(-p, 'SIGKILL');
    expect(await waitForExit(pids, BEE_START_MS)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the same bee is adopted: same pid and channel, its ready (sent before adoption) replayed, it runs a task', async () => {
    const pid = forkEarlyBee(0, 256 * MiB, scratch);
    expect(pid).toBeGreaterThan(0);
    // Its `ready` comes while nobody has adopted it yet: kept for the chamber.
    await waitUntil(() => (earlyBee()?.queued ?? 0) >= 1, 'the early bee to be ready');
    const { child, heapMb } = forkBee(0, 256 * MiB, scratch);
    children.push(child);
    const ready = nextMessage(child, 'ready');
    expect(child.pid).toBe(pid);
    expect(earlyBee()?.state).toBe('adopted');
    expect(heapMb).toBe(splitBudget(256 * MiB).heapMb);
    expect(await ready).toMatchObject({ type: 'ready', pid });
    const result = nextMessage(child, 'result');
    child.send({ type: 'run', taskId: 't1', spec: { kind: 'js', module: TASKS, export: 'whoami', args: {} }, scratchDir: scratch });
    expect(await result).toMatchObject({
      taskId: 't1',
      value: { kind: 'js', value: { pid, bee: 0, budget: 256 * MiB, heapLimitMb: splitBudget(256 * MiB).heapMb } },
    });
  });

  it.each([
    ['another budget (heap cap)', 512 * MiB, () => scratch],
    ['another scratch dir (env)', 256 * MiB, () => path.join(dir, 'elsewhere')],
  ])('a chamber that would fork another bee (%s) kills the early one and forks its own', async (_why, budget, where) => {
    const pid = forkEarlyBee(0, 256 * MiB, scratch)!;
    const { child } = forkBee(0, budget, where());
    children.push(child);
    expect(child.pid).not.toBe(pid);
    expect(earlyBee()?.state).toBe('discarded');
    expect(child.spawnargs).toContain(`--max-old-space-size=${splitBudget(budget).heapMb}`);
    await discardEarlyBee();
    expect(reaped(pid)).toBe(true);
    // The chamber's own bee is the one that comes up.
    expect(await nextMessage(child, 'ready')).toMatchObject({ pid: child.pid });
  });

  it('a bee nobody adopts is killed and reaped by discardEarlyBee; a chamber then forks its own', async () => {
    const pid = forkEarlyBee(0, 256 * MiB, scratch)!;
    expect(isAlive(pid)).toBe(true);
    await discardEarlyBee();
    expect(reaped(pid)).toBe(true);
    const { child } = forkBee(0, 256 * MiB, scratch);
    children.push(child);
    expect(child.pid).not.toBe(pid);
  });

  it('an early bee that died before adoption is not adopted', async () => {
    const pid = forkEarlyBee(0, 256 * MiB, scratch)!;
    process.kill(-pid, 'SIGKILL');
    await waitUntil(() => reaped(pid), 'the early bee to be reaped');
    const { child } = forkBee(0, 256 * MiB, scratch);
    children.push(child);
    expect(child.pid).not.toBe(pid);
  });
});
