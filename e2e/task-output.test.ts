import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TASK_OUTPUT_CUT_MARKER, TASK_OUTPUT_MAX_BYTES } from '@apiary/protocol';
import { ROOT } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper, stderrOf } from './helpers/keeper.js';
import { killAll, pidsWithHome, waitFor } from './helpers/procs.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';
import { OUTPUT_FLUSH_MS } from '../services/hive/src/output-capture.js';

const MOD = path.join(ROOT, 'e2e/fixtures/output-tasks.mjs');
const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: MOD, export: exportName, args });

/**
 * A task's stdout/stderr is captured per attempt (console output and a child's), kept with the
 * attempt (the last 64 KiB), served on GET /v1/tasks/:id, shown by `keeper tasks ID --logs`, and
 * streamed live by `keeper run`.
 */
describe('task output (daemon)', () => {
  let d: TestDaemon | null = null;
  let tmp: string;

  beforeEach(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-output-'));
    d = await TestDaemon.start();
  });
  afterEach(async () => {
    try {
      await d?.stop();
    } finally {
      d = null;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("console.log/error and a child's output land on their own attempt, not in the hive's log", async () => {
    const c = d!.client;
    const [a, b, child] = await Promise.all([
      c.run(js('print', { out: ['a-line-1', 'a-line-2'], err: ['a-warning'] }), {}),
      c.run(js('print', { out: ['b-line-1'] }), {}),
      c.run(js('childEcho', { text: 'kid' }), {}),
    ]);
    const view = async (id: string) => (await c.get(id)).attempts.map((x) => x.output);
    expect(await view(a.id)).toEqual(['a-line-1\na-line-2\na-warning\n']);
    expect(await view(b.id)).toEqual(['b-line-1\n']);
    // The child wrote to the bee's pipes directly (inherited fds), not through console.
    const kid = (await view(child.id))[0]!;
    expect(kid).toContain('kid-out\n');
    expect(kid).toContain('kid-err\n');
    // A task that prints nothing has no output field at all.
    const quiet = await c.run(js('big', { kb: 0 }), {});
    expect((await c.get(quiet.id)).attempts[0]!.output).toBeUndefined();
    // Lists stay light: no output there.
    const listed = (await c.list(undefined, 10)).tasks.find((t) => t.id === a.id)!;
    expect(listed.attempts[0]!.output).toBeUndefined();
    // And none of it reached the daemon's hive log mixed with other tasks' output.
    expect(d!.stderr.join('\n')).not.toContain('a-line-1');

    const logs = await keeper(['tasks', a.id, '--logs'], d!.home);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`${a.id}  js  succeeded`);
    expect(logs.stdout).toContain('--- attempt 1 output ---\na-line-1\na-line-2\na-warning\n');
  });

  // POST /v1/tasks?waitMs looks the output up only when some task printed while it waited, or when
  // it did not make the task itself (an Idempotency-Key replay): both answers must still carry it.
  it('the answer of POST /v1/tasks?waitMs carries the output; so does a replay with the same Idempotency-Key; a silent task has none', async () => {
    const post = async (spec: unknown, key: string) => {
      const r = await fetch(`${d!.url}/v1/tasks?waitMs=30000`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d!.token('client')}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ spec, limits: {} }),
      });
      expect(r.status).toBe(200);
      return { replayed: r.headers.get('idempotent-replayed'), view: (await r.json()) as { id: string; state: string; attempts: { output?: string }[] } };
    };
    const quiet = await post(js('big', { kb: 0 }), 'quiet-1');
    expect(quiet.view.state).toBe('succeeded');
    expect(quiet.view.attempts[0]!.output).toBeUndefined();
    const loud = await post(js('print', { out: ['waited-line'] }), 'loud-1');
    expect(loud.view.attempts[0]!.output).toBe('waited-line\n');
    // The replay made nothing and printed nothing while it waited: the answer still has the first run's output.
    const again = await post(js('print', { out: ['waited-line'] }), 'loud-1');
    expect(again.replayed).toBe('true');
    expect(again.view.id).toBe(loud.view.id);
    expect(again.view.attempts[0]!.output).toBe('waited-line\n');
  });

  it('keeps only the last 64 KiB, with the cut marker first', async () => {
    const c = d!.client;
    const t = await c.run(js('flood', { bytes: 3 * TASK_OUTPUT_MAX_BYTES, tail: 'THE-END' }), {});
    const out = (await c.get(t.id)).attempts[0]!.output!;
    expect(out.startsWith(TASK_OUTPUT_CUT_MARKER), `${out.length} chars: ${out.slice(0, 80)}…${out.slice(-40)}`).toBe(true);
    expect(Buffer.byteLength(out) - Buffer.byteLength(TASK_OUTPUT_CUT_MARKER)).toBeLessThanOrEqual(TASK_OUTPUT_MAX_BYTES);
    // The tail survives whole; the beginning is what went.
    expect(out.endsWith('THE-END\n')).toBe(true);
    expect(out.length).toBeGreaterThan(TASK_OUTPUT_MAX_BYTES / 2);
  });

  it('the output of a running attempt is served while it runs', async () => {
    const c = d!.client;
    const release = path.join(tmp, 'release');
    const printed = path.join(tmp, 'printed');
    const t = await c.submit(js('print', { out: ['early-line'], printed, waitFile: release }), {});
    await waitFor(() => existsSync(printed), 20_000, 'the task to print');
    // From then: the hive's next flush (OUTPUT_FLUSH_MS), one hop to the queen, one poll.
    await waitFor(async () => (await c.get(t.id)).attempts[0]?.output === 'early-line\n', OUTPUT_FLUSH_MS + LOAD_MARGIN_MS, 'the live output');
    expect((await c.get(t.id)).state).toBe('running');
    writeFileSync(release, '');
    const done = await c.get(t.id, 30_000);
    expect(done.state).toBe('succeeded');
    expect(done.attempts[0]!.output).toBe('early-line\n');
  });

  it('keeper run streams the task output to stderr as it arrives; stdout keeps only the result', async () => {
    const release = path.join(tmp, 'release');
    const run = keeper(['run', MOD, '--export', 'print', '--args', JSON.stringify({ out: ['streamed-1'], err: ['streamed-2'], waitFile: release })], d!.home);
    const lines = stderrOf(run);
    // Both lines appear while the task is still running (it waits for the release file).
    await waitFor(() => lines.includes('streamed-1') && lines.includes('streamed-2'), 20_000, 'the streamed lines');
    expect(run.exitCode, 'still running').toBeNull();
    writeFileSync(release, '');
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ printed: 2 });
    // Once each: not streamed and then printed again from the saved output.
    expect(r.stderr.split('\n').filter((l) => l === 'streamed-1')).toHaveLength(1);
  });

  it('keeper run prints the output of a task that finished before the stream was up', async () => {
    const r = await keeper(['run', MOD, '--export', 'print', '--args', JSON.stringify({ out: ['quick-1', 'quick-2'] })], d!.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('quick-1\nquick-2\n');
    expect(r.stderr.split('\n').filter((l) => l === 'quick-1')).toHaveLength(1);
  });
});

describe('task output (keeper run, ephemeral colony)', () => {
  it('streams a task output live with its own colony', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-output-eph-'));
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-output-eph-t-'));
    try {
      const release = path.join(tmp, 'release');
      const run = keeper(['run', MOD, '--export', 'print', '--bees', '1', '--args', JSON.stringify({ out: ['eph-line'], waitFile: release })], home);
      const lines = stderrOf(run);
      await waitFor(() => lines.includes('eph-line'), 30_000, 'the streamed line');
      writeFileSync(release, '');
      const r = await run;
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ printed: 1 });
      expect(r.stderr.split('\n').filter((l) => l === 'eph-line')).toHaveLength(1);
      // The keeper took its colony down before it exited.
      expect(pidsWithHome(home)).toEqual([]);
    } finally {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
