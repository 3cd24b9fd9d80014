import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { rmSync } from 'node:fs';
import { TASKS, tempHome } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive, pidsWithHome, waitFor } from './helpers/procs.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

async function allDone(d: TestDaemon, ids: string[], timeoutMs = 60_000): Promise<TaskView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { tasks } = await d.client.waitMany(ids, 5000);
    if (tasks.every((t) => !['queued', 'running'].includes(t.state))) return tasks;
    if (Date.now() > deadline) throw new Error(`not done: ${tasks.filter((t) => ['queued', 'running'].includes(t.state)).length} left`);
  }
}

describe('queen daemon', () => {
  let d: TestDaemon | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
  });

  it('SIGKILL the queen in the middle of a 500-task job, start it again: every task succeeds exactly once, no result lost', async () => {
    d = await TestDaemon.start();
    await d.waitHives(1);
    const hivePid = (await d.client.colony()).hives[0]!.resources.pid;
    const { ids } = await d.client.submitBatch(Array.from({ length: 500 }, (_, i) => ({ spec: js('stamp', { ms: 10, label: i }) })));
    await waitFor(async () => (await d!.client.list('succeeded', 200)).tasks.length >= 100, 30_000, '100 tasks done');
    d.queen!.kill('SIGKILL');
    await waitFor(() => !alive(d!.queen!.pid!), 5000, 'queen gone');
    expect(alive(hivePid), 'the persistent hive outlives the queen').toBe(true);
    await d.startQueen();
    const tasks = await allDone(d, ids);
    tasks.forEach((t, i) => {
      expect(t.state, `${t.id}: ${t.error?.message}`).toBe('succeeded');
      expect(t.value).toMatchObject({ kind: 'js', value: { label: i } });
      expect(t.attempts.filter((a) => a.error === null)).toHaveLength(1);
    });
    // the restarted queen adopted the hive rather than starting another
    const c = await d.client.colony();
    expect(c.hives.map((h) => h.resources.pid)).toEqual([hivePid]);
  });

  for (const how of ['SIGKILL', 'SIGSTOP'] as const) {
    it(`${how} a hive mid-job: HIVE_LOST within 3 s and its tasks finish on the other hive`, async () => {
      d = await TestDaemon.start();
      const second = d.startHive('second');
      await d.waitHives(2);
      const { ids } = await d.client.submitBatch(Array.from({ length: 40 }, (_, i) => ({ spec: js('stamp', { ms: 200, label: i }) })));
      await waitFor(async () => (await d!.client.colony()).hives.find((h) => h.resources.name === 'second')?.inFlight, 10_000, 'work on the second hive');
      const t0 = Date.now();
      second.kill(how);
      await waitFor(async () => !(await d!.client.colony()).hives.some((h) => h.resources.name === 'second'), 5000, 'hive lost');
      const lostAfter = Date.now() - t0;
      // Silence is measured from the last heartbeat (1 s period), checked every 300 ms.
      expect(lostAfter).toBeLessThanOrEqual(how === 'SIGKILL' ? 1000 : 3300);
      expect(d.stderr.some((l) => /HIVE_LOST second#/.test(l))).toBe(true);
      const tasks = await allDone(d, ids);
      expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
      const moved = tasks.filter((t) => t.attempts.some((a) => a.error?.code === 'HIVE_LOST'));
      expect(moved.length).toBeGreaterThan(0);
      for (const t of moved) expect(t.attempts.at(-1)!.hive).not.toMatch(/^second#/);
      if (how === 'SIGSTOP') second.kill('SIGKILL');
    });
  }

  it('abandons a poison task after 3 attempts with 3 diagnostics; the rest of the job succeeds; keeper tasks --abandoned shows it', async () => {
    d = await TestDaemon.start();
    await d.waitHives(1);
    const specs = [js('echo', { a: 1 }), js('bufferBomb', { capMb: 2048 }), js('echo', { a: 2 }), js('sleep', { ms: 200 }), js('echo', { a: 3 })];
    const { ids } = await d.client.submitBatch(specs.map((spec) => ({ spec })));
    const tasks = await allDone(d, ids);
    const poison = tasks[1]!;
    expect(poison.state).toBe('abandoned');
    expect(poison.error?.code).toBe('TASK_ABANDONED');
    expect(poison.attempts).toHaveLength(3);
    for (const a of poison.attempts) {
      expect(a.error?.code).toBe('BEE_MEMORY_EXCEEDED');
      expect(a.bee).toBeGreaterThanOrEqual(0);
      expect(a.durationMs).toBeGreaterThan(0);
    }
    // a retry prefers a bee that has not failed it yet
    expect(poison.attempts[1]!.bee).not.toBe(poison.attempts[0]!.bee);
    expect(tasks.filter((_, i) => i !== 1).every((t) => t.state === 'succeeded')).toBe(true);
    const r = await keeper(['tasks', '--abandoned'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(poison.id);
    expect(r.stdout.match(/attempt \d: .*BEE_MEMORY_EXCEEDED/g)).toHaveLength(3);
  });

  it('keeper uses the running daemon and leaves it running; keeper queen stop takes it all down', async () => {
    d = await TestDaemon.start();
    await d.waitHives(1);
    const queenPid = d.queen!.pid!;
    const r = await keeper(['sql', 'SELECT 6 * 7 AS answer', '--format', 'json'], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ answer: 42 }]);
    expect(alive(queenPid)).toBe(true);
    const s = await keeper(['status'], d.home);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/temperature \d\.\d\d (cold|ideal|warm|hot|critical)/);
    expect(s.stdout).toMatch(/bee|BEE/);
    const before = pidsWithHome(d.home);
    expect(before.length).toBeGreaterThanOrEqual(4);
    const stop = await keeper(['queen', 'stop'], d.home);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(before.filter(alive)).toEqual([]);
    const st = await keeper(['queen', 'status'], d.home);
    expect(st.exitCode).toBe(3);
  });

  it('keeper queen stop --keep-hives leaves a separately started hive running; it rejoins the next queen', async () => {
    d = await TestDaemon.start();
    const second = d.startHive('second');
    await d.waitHives(2);
    const localPid = (await d.client.colony()).hives.find((h) => h.resources.name !== 'second')!.resources.pid;
    const stop = await keeper(['queen', 'stop', '--keep-hives'], d.home);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(alive(d.queen!.pid!)).toBe(false);
    expect(alive(localPid)).toBe(false);
    expect(alive(second.pid!)).toBe(true);
    await d.startQueen();
    await waitFor(async () => (await d!.client.colony()).hives.some((h) => h.resources.name === 'second'), 15_000, 'the second hive to rejoin');
    const t = await d.client.run(js('echo', { back: true }), {});
    expect(t.state).toBe('succeeded');
  });

  it('keeper finds a queen through --queen or APIARY_QUEEN (+ APIARY_TOKEN) from any APIARY_HOME, and reports a wrong token', async () => {
    d = await TestDaemon.start();
    await d.waitHives(1);
    const elsewhere = tempHome();
    try {
      const viaFlag = await keeper(['sql', 'SELECT 1 AS one', '--format', 'json', '--queen', d.url], elsewhere, { env: { APIARY_TOKEN: d.token('client') } });
      expect(viaFlag.exitCode, viaFlag.stderr).toBe(0);
      expect(JSON.parse(viaFlag.stdout)).toEqual([{ one: 1 }]);
      const viaEnv = await keeper(['sql', 'SELECT 2 AS two', '--format', 'json'], elsewhere, { env: { APIARY_QUEEN: d.url, APIARY_TOKEN: d.token('client') } });
      expect(JSON.parse(viaEnv.stdout)).toEqual([{ two: 2 }]);
      const wrong = await keeper(['sql', 'SELECT 3'], elsewhere, { env: { APIARY_QUEEN: d.url, APIARY_TOKEN: 'x'.repeat(32) } });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toMatch(/AUTH_FAILED/);
      // nothing was started for these runs: they used the daemon
      expect(pidsWithHome(elsewhere)).toEqual([]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a draining queen answers new submissions with 503 QUEEN_DRAINING while running tasks get the grace period', async () => {
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '256MiB', '--grace', '3000']);
    await d.waitHives(1);
    const running = await d.client.submit(js('sleep', { ms: 1500 }), {});
    await waitFor(async () => (await d!.client.get(running.id)).state === 'running', 5000, 'task running');
    await d.client.shutdown(false);
    await waitFor(async () => (await fetch(`${d!.url}/v1/health`).then((r) => r.json() as Promise<{ state: string }>)).state === 'draining', 2000, 'draining');
    const res = await fetch(`${d.url}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spec: js('echo') }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'QUEEN_DRAINING' });
    const done = await d.client.get(running.id, 5000);
    expect(done.state).toBe('succeeded');
  });
});
