import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { waitFor } from './helpers/procs.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

const MOD = path.join(ROOT, 'e2e/fixtures/output-tasks.mjs');
const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: MOD, export: exportName, args });
/** 300 KiB: over the ledger's 256 KiB inline limit, so each result is a file under APIARY_HOME/results. */
const BIG_KB = 300;

/**
 * Retention on a real daemon: finished tasks (rows, attempts, result files) go by count and age,
 * by `keeper tasks prune` and by the periodic run; queued and running tasks never do.
 */
describe('retention of finished tasks (daemon)', () => {
  let d: TestDaemon | null = null;
  let tmp: string;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-retention-'));
  });
  afterEach(async () => {
    try {
      await d?.stop();
    } finally {
      d = null;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const results = (home: string) => (existsSync(path.join(home, 'results')) ? readdirSync(path.join(home, 'results')).filter((f) => f.endsWith('.json')) : []);

  it('keeper tasks prune --keep N deletes the older finished tasks and their result files; a running task stays', async () => {
    // The periodic run is an hour away: only the explicit prune acts here.
    d = await TestDaemon.start(['--bees', '2', '--memory-per-bee', '256MiB', '--prune-every', '1h']);
    const c = d.client;
    const release = path.join(tmp, 'release');
    const held = await c.submit(js('holdUntil', { file: release }), {});
    const done = [];
    for (let i = 0; i < 5; i++) done.push(await c.run(js('big', { kb: BIG_KB }), {}));
    expect(done.every((t) => t.state === 'succeeded')).toBe(true);
    expect(results(d.home)).toHaveLength(5);
    expect((await c.get(held.id)).state).toBe('running');

    const keep2 = await keeper(['tasks', 'prune', '--keep', '2'], d.home);
    expect(keep2.exitCode, keep2.stderr).toBe(0);
    expect(keep2.stdout).toMatch(/^pruned 3 finished task\(s\)/);
    // The two newest finished stay (with their files); the three older are gone from the API and the disk.
    expect(results(d.home).sort()).toEqual(
      done
        .slice(3)
        .map((t) => `${t.id}.json`)
        .sort(),
    );
    for (const t of done.slice(0, 3)) await expect(c.get(t.id)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    expect((await c.get(done[4]!.id)).value).toEqual({ kind: 'js', value: 'r'.repeat(BIG_KB * 1024) });

    // Everything finished, whatever its age: the running task is still not touched, and still finishes.
    const all = await keeper(['tasks', 'prune', '--older-than', '0s', '--keep', '0'], d.home);
    expect(all.stdout).toMatch(/^pruned 2 /);
    expect(results(d.home)).toEqual([]);
    expect((await c.get(held.id)).state).toBe('running');
    writeFileSync(release, '');
    expect((await c.get(held.id, 30_000)).state).toBe('succeeded');
  });

  it('keeper tasks prune rejects bad flags with a usage error (exit 2)', async () => {
    const bad = await keeper(['tasks', 'prune', '--keep', '-1'], tmp);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--keep');
    const dur = await keeper(['tasks', 'prune', '--older-than', 'soon'], tmp);
    expect(dur.exitCode).toBe(2);
    expect(dur.stderr).toContain('--older-than');
  });

  it('the periodic run keeps at most --retain-tasks finished tasks, and queen.db stops growing', async () => {
    const everyMs = 200;
    d = await TestDaemon.start(['--bees', '2', '--memory-per-bee', '256MiB', '--retain-tasks', '3', '--prune-every', `${everyMs}ms`]);
    const c = d.client;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await c.run(js('big', { kb: BIG_KB }), {})).id);
    // Within a few periods (plus load) only the newest 3 remain, rows and files.
    const settleMs = everyMs * 5 + LOAD_MARGIN_MS;
    await waitFor(async () => (await c.list(undefined, 100)).tasks.length === 3, settleMs, 'retention down to 3 tasks');
    expect((await c.list(undefined, 100)).tasks.map((t) => t.id).sort()).toEqual(ids.slice(5).sort());
    await waitFor(() => results(d!.home).length === 3, settleMs, 'their result files down to 3');

    // Another round of the same work leaves the database no bigger: freed pages are reused or returned.
    const db = path.join(d.home, 'queen.db');
    const size = () => statSync(db).size + (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0);
    const before = size();
    for (let i = 0; i < 8; i++) await c.run(js('big', { kb: 1 }), {});
    await waitFor(async () => (await c.list(undefined, 100)).tasks.length === 3, settleMs, 'retention down to 3 again');
    await waitFor(() => size() <= before, settleMs, `queen.db + WAL back to at most ${before} bytes (now ${size()})`);
  });
});
