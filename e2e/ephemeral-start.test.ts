import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveHiveConfig } from '@apiary/config';
import { describe, expect, it } from 'vitest';
import { TASKS } from './helpers/colony.js';
import { keeper, roleOf, stderrOf } from './helpers/keeper.js';
import { pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { useTempHome } from './helpers/temp-dirs.js';
import { BEE_ORPHAN_POLL_MS, LOAD_MARGIN_MS } from './helpers/timing.js';

/*
 * How a one-shot keeper run starts its colony (keeper/src/local-colony.ts): its first bee is forked at
 * the keeper's very top and taken by the hosted hive before the queen is loaded (early-start.ts, and
 * ephemeral-early-bee.test.ts), and without --bees the hive forks more only when work waits for one.
 */

/** Debug logs relayed by -v: the hive logs each bee it forks as `bee-N exited → starting`. */
const VERBOSE = { env: { APIARY_LOG_LEVEL: 'debug' } };
const forked = (stderr: string) => [...new Set([...stderr.matchAll(/bee-(\d+) exited → starting/g)].map((m) => Number(m[1])))].sort();
/** Bees a hive gets without --bees (one per core), from the config code that decides it. */
const DEFAULT_BEES = resolveHiveConfig({
  queenUrl: 'ws://127.0.0.1:1/v1/hive',
  joinToken: 'x'.repeat(32),
  memoryPerBee: '256MiB',
  cacheDir: '/nonexistent',
}).bees;
/** The bees the hosted hive had room for (its `hive starting` line). */
const chambers = (stderr: string) => Number(/hive starting \{[^}]*"bees":(\d+)/.exec(stderr)?.[1]);

describe('ephemeral start: bees on demand, first bee before the queen', () => {
  const home = useTempHome();

  // Without --bees the hive gets one bee per core: "only one of them" needs two (skipped on one core).
  const multi = it.skipIf(DEFAULT_BEES < 2);

  multi('keeper run of a one-task module forks exactly one bee of the default count, and leaves nothing', async () => {
    const r = await keeper(['run', TASKS, '--export', 'echo', '--args', '{"n":7}', '-v'], home(), VERBOSE);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 7 });
    expect(chambers(r.stderr)).toBe(DEFAULT_BEES);
    // The old start forked every bee (bee-1 too) for a task only one of them could run.
    expect(forked(r.stderr)).toEqual([0]);
    expect(pidsWithHome(home())).toEqual([]);
  });

  multi('work that waits for a bee forks another: a write of two files forks the second bee', async () => {
    const dir = path.join(home(), 'in');
    mkdirSync(dir);
    for (const i of [0, 1]) writeFileSync(path.join(dir, `part-${i}.csv`), `x\n${i}\n`);
    const r = await keeper(['write', 'f', path.join(dir, '*.csv'), '-v'], home(), VERBOSE);
    expect(r.exitCode, r.stderr).toBe(0);
    // Two write tasks reached the hive while its one bee was starting or busy: the second woke bee-1
    // (which of them runs it is a race on a busy machine; a broken wake-up forks bee-0 only).
    expect(forked(r.stderr)).toEqual([0, 1]);
  });

  multi('keeper demo without --bees gets every bee before it starts (it reports each)', async () => {
    const r = await keeper(['demo', '--rows', '20000'], home());
    expect(r.exitCode, r.stderr).toBe(0);
    for (let b = 0; b < DEFAULT_BEES; b++) expect(r.stdout).toMatch(new RegExp(`bee-${b} .*(idle|busy)`));
  });

  it('SIGKILL to the keeper while it is still starting its queen: the bee it already forked dies too', async () => {
    const run = keeper(['sql', 'SELECT 42', '-v'], home(), VERBOSE);
    const stderr = stderrOf(run);
    // The first bee is forked at the keeper's very top (early-start.ts); the hive takes it as bee 0
    // before the queen's code is loaded: catch the keeper once the hive has it, in that window when
    // the machine allows (the bee dies the same way either way).
    await waitFor(() => stderr.some((l) => /bee-0 exited → starting/.test(l)), 20_000, 'the hive to start bee 0');
    const bee = await waitFor(() => pidsWithHome(home()).find((p) => roleOf(p) === 'bee'), 20_000, 'the first bee');
    const pids = pidsWithHome(home());
    run.kill('SIGKILL');
    await run;
    // Nobody runs a cascade: the bee sees its IPC channel close (or its watchdog sees its ppid change).
    await waitGone([bee, ...pids], BEE_ORPHAN_POLL_MS + LOAD_MARGIN_MS);
  });
});
