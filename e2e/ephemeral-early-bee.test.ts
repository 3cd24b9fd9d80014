import { beeSizing } from '@apiary/config';
import { splitBudget } from '@apiary/hive';
import { describe, expect, it } from 'vitest';
import { TASKS } from './helpers/colony.js';
import { keeper, stderrOf } from './helpers/keeper.js';
import { alive, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { filesUnder, useTempHome } from './helpers/temp-dirs.js';
import { BEE_ORPHAN_POLL_MS, LOAD_MARGIN_MS } from './helpers/timing.js';

/*
 * A one-shot run forks its first bee at the very top of the keeper, before zod, config, hive or queen
 * code load (keeper/src/early-start.ts); the hosted hive's chamber adopts it as bee 0 when it would
 * fork exactly that bee (hive/src/early-bee.ts). APIARY_TRACE_START=1 names the early bee's pid.
 */

const MiB = 1024 * 1024;
const TRACE = { env: { APIARY_TRACE_START: '1' } };
const VERBOSE_TRACE = { env: { APIARY_TRACE_START: '1', APIARY_LOG_LEVEL: 'debug' } };
const earlyPid = (stderr: string) => Number(/early bee forked \(pid (\d+)\)/.exec(stderr)?.[1]);
const adoptedPid = (stderr: string) => Number(/early bee adopted \(pid (\d+)\)/.exec(stderr)?.[1]);
/** The heap cap and budget a bee gets for these flags, worked out by the hive's own sizing code. */
const sealOf = (o: { bees?: number; memoryPerBee?: string }) => {
  const budget = beeSizing(o).memoryPerBeeBytes;
  return { budget, heapLimitMb: splitBudget(budget).heapMb };
};
/** Within this of the keeper's stderr naming it, the bee has been forked (the line follows the fork). */
const FORKED_LINE = 20_000;

describe('ephemeral start: the first bee is forked early and adopted', () => {
  const home = useTempHome();

  it.each([
    ['no flags', [], {}],
    ['--memory-per-bee 256MB', ['--memory-per-bee', '256MB'], { memoryPerBee: '256MB' }],
    ['--bees 1', ['--bees', '1'], { bees: 1 }],
    ['--bees=1 --memory-per-bee=300MiB', ['--bees=1', '--memory-per-bee=300MiB'], { bees: 1, memoryPerBee: '300MiB' }],
  ])('%s: the early bee runs the task, sealed with the budget those flags give', async (_label, flags, sizing) => {
    const r = await keeper(['run', TASKS, '--export', 'whoami', ...flags], home(), TRACE);
    expect(r.exitCode, r.stderr).toBe(0);
    const pid = earlyPid(r.stderr);
    expect(pid, r.stderr).toBeGreaterThan(0);
    expect(adoptedPid(r.stderr)).toBe(pid);
    const { budget, heapLimitMb } = sealOf(sizing);
    // The task ran in the early bee, as bee 0, with the heap cap and budget of a bee the hive forks.
    expect(JSON.parse(r.stdout)).toMatchObject({ pid, bee: 0, budget, heapLimitMb });
    expect(filesUnder(home())).toEqual([]);
  });

  it('a memory-hungry task in the early bee is killed with the usual code', async () => {
    const r = await keeper(['run', TASKS, '--export', 'bufferBomb', '--memory-per-bee', '256MB', '-v'], home(), VERBOSE_TRACE);
    expect(r.exitCode).toBe(1);
    // Every attempt (the task is retried on fresh bees, then abandoned) ends as the memory monitor ends it.
    const mib = (sealOf({ memoryPerBee: '256MB' }).budget / MiB).toFixed(0);
    expect(r.stderr).toMatch(new RegExp(`#1 BEE_MEMORY_EXCEEDED .*bee 0 used \\d+ MiB, over its ${mib} MiB budget`));
    // The first bee the monitor killed is the early one.
    const killed = Number(/killing bee 0 \{"beePid":(\d+),"code":"BEE_MEMORY_EXCEEDED"/.exec(r.stderr)?.[1]);
    expect(killed, r.stderr).toBe(earlyPid(r.stderr));
    expect(adoptedPid(r.stderr)).toBe(killed);
  });

  it.each([
    ['an unknown flag', ['--nope']],
    ['bad --args JSON', ['--args', '{nope']],
    ['a --timeout that is not a duration', ['--timeout', 'soon']],
  ])('a usage error after the early fork (%s): exit 2, the bee killed and reaped before the keeper exits', async (_label, flags) => {
    const r = await keeper(['run', TASKS, '--export', 'whoami', ...flags], home(), TRACE);
    expect(r.exitCode, r.stderr).toBe(2);
    const pid = earlyPid(r.stderr);
    expect(pid, r.stderr).toBeGreaterThan(0);
    // Gone by the time the keeper has exited, not merely on its way: the keeper waited for it.
    expect(alive(pid)).toBe(false);
    expect(pidsWithHome(home())).toEqual([]);
    expect(filesUnder(home())).toEqual([]);
  });

  it('SIGKILL of the keeper right after the early fork takes the bee down', async () => {
    const run = keeper(['sql', 'SELECT 42'], home(), TRACE);
    const stderr = stderrOf(run);
    const pid = await waitFor(() => earlyPid(stderr.join('\n')), FORKED_LINE, 'the early fork');
    run.kill('SIGKILL');
    await run;
    // Nobody runs a cascade: the bee sees its IPC channel close (or, once it runs, its watchdog sees its ppid change).
    await waitGone([pid], BEE_ORPHAN_POLL_MS + LOAD_MARGIN_MS);
    expect(pidsWithHome(home())).toEqual([]);
  });

  it('Ctrl-C while the keeper is still starting: exit 130, the bee gone, nothing left', async () => {
    const run = keeper(['sql', 'SELECT 42'], home(), TRACE);
    const stderr = stderrOf(run);
    const pid = await waitFor(() => earlyPid(stderr.join('\n')), FORKED_LINE, 'the early fork');
    run.kill('SIGINT');
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    await waitGone([pid], LOAD_MARGIN_MS);
    expect(pidsWithHome(home())).toEqual([]);
    expect(filesUnder(home())).toEqual([]);
  });

  it('with a queen to use (--queen), no bee is forked early', async () => {
    // Nothing listens there: the run fails to connect, after parsing, which is all this needs.
    const r = await keeper(['run', TASKS, '--export', 'whoami', '--queen', 'http://127.0.0.1:9'], home(), TRACE);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).not.toMatch(/early bee/);
    expect(pidsWithHome(home())).toEqual([]);
  });
});
