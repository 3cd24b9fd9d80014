import { rmSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { QUEEN_BIN, TASKS, tempHome } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { parseExposition, sampleValue, type Exposition } from './helpers/prom-text.js';
import { pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { HIVE_DEFAULTS, LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });
const MEMORY_PER_BEE = 256 * 1024 * 1024;
/** A bee's state reaches the queen with the next heartbeat: one period, plus a loaded machine's delay. */
const HEARTBEAT_SEEN_MS = QUEEN_DEFAULTS.heartbeatMs + LOAD_MARGIN_MS;

async function allDone(d: TestDaemon, ids: string[], timeoutMs = 60_000): Promise<TaskView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { tasks } = await d.client.waitMany(ids, 5000);
    if (tasks.every((t) => !['queued', 'running'].includes(t.state))) return tasks;
    if (Date.now() > deadline) throw new Error('tasks not done in time');
  }
}

describe('GET /metrics on a real daemon', () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await TestDaemon.start(['--bees', '2', '--memory-per-bee', '256MiB', '--metrics-port', '0']);
    await d.waitIdle(2);
  });

  afterAll(async () => {
    const home = d.home;
    const pids = pidsWithHome(home);
    await d.stop();
    await waitGone(pids, 5000);
    expect(pidsWithHome(home)).toEqual([]);
  });

  /** One scrape of the main port with the client token, checked as exposition format. */
  const scrape = async (): Promise<Exposition> => {
    const r = await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${d.token('client')}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await r.text());
  };
  const v = (e: Exposition, name: string, labels: Record<string, string> = {}) => sampleValue(e, name, labels) ?? 0;

  it('after N tasks the counters moved by N with kind/outcome/code labels; gauges describe the colony; no task ids as labels', async () => {
    const before = await scrape();
    const N = 7;
    const ok = Array.from({ length: N }, (_, i) => ({ spec: { kind: 'sql' as const, sql: `SELECT ${i} AS i` } }));
    const bad = [{ spec: { kind: 'sql' as const, sql: 'SELEC nonsense' } }, { spec: { kind: 'sql' as const, sql: 'SELECT * FROM no_such_table' } }];
    const { ids } = await d.client.submitBatch([...ok, ...bad]);
    const tasks = await allDone(d, ids);
    expect(tasks.filter((t) => t.state === 'succeeded')).toHaveLength(N);
    expect(tasks.filter((t) => t.state === 'failed').map((t) => t.error?.code)).toEqual(['SQL_ERROR', 'SQL_ERROR']);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => v(after, name, labels) - v(before, name, labels);
    expect(delta('apiary_tasks_total', { kind: 'sql', outcome: 'succeeded' })).toBe(N);
    expect(delta('apiary_tasks_total', { kind: 'sql', outcome: 'failed' })).toBe(2);
    expect(delta('apiary_task_attempts_total', { code: 'OK' })).toBe(N);
    // A user error is final: one attempt each.
    expect(delta('apiary_task_attempts_total', { code: 'SQL_ERROR' })).toBe(2);
    expect(delta('apiary_task_duration_seconds_count', { kind: 'sql' })).toBe(N + 2);
    expect(v(after, 'apiary_task_duration_seconds_bucket', { kind: 'sql', le: '+Inf' })).toBe(v(after, 'apiary_task_duration_seconds_count', { kind: 'sql' }));

    const types = Object.fromEntries(after.types);
    expect(types).toMatchObject({
      apiary_tasks_total: 'counter',
      apiary_task_attempts_total: 'counter',
      apiary_task_duration_seconds: 'histogram',
      apiary_tasks_queued: 'gauge',
      apiary_tasks_running: 'gauge',
      apiary_hives: 'gauge',
      apiary_hive_heartbeat_age_seconds: 'gauge',
      apiary_bees: 'gauge',
      apiary_bee_rss_bytes: 'gauge',
      apiary_bee_budget_bytes: 'gauge',
      apiary_bee_restarts_total: 'counter',
      apiary_colony_temperature: 'gauge',
      apiary_ledger_bytes: 'gauge',
      apiary_frame_bytes: 'gauge',
      process_resident_memory_bytes: 'gauge',
      process_cpu_seconds_total: 'counter',
    });
    const hive = (await d.client.colony()).hives[0]!.resources.name;
    expect(v(after, 'apiary_hives')).toBe(1);
    expect(v(after, 'apiary_tasks_queued')).toBe(0);
    expect(v(after, 'apiary_tasks_running')).toBe(0);
    expect(v(after, 'apiary_bees', { hive, state: 'idle' }) + v(after, 'apiary_bees', { hive, state: 'busy' })).toBe(2);
    for (const bee of ['0', '1']) {
      expect(v(after, 'apiary_bee_budget_bytes', { hive, bee })).toBe(MEMORY_PER_BEE);
      expect(v(after, 'apiary_bee_rss_bytes', { hive, bee })).toBeGreaterThan(0);
    }
    // Heartbeats come every heartbeatMs: the age stays within that plus a loaded machine's delay.
    expect(v(after, 'apiary_hive_heartbeat_age_seconds', { hive })).toBeLessThan(HEARTBEAT_SEEN_MS / 1000);
    expect(v(after, 'apiary_ledger_bytes')).toBeGreaterThan(0);
    expect(v(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // Bounded cardinality: no series is labelled with a task id.
    const labelValues = new Set(after.samples.flatMap((s) => Object.values(s.labels)));
    expect(ids.filter((id) => labelValues.has(id))).toEqual([]);
  });

  it('a memory bomb kills its bee: apiary_bee_restarts_total{reason="memory"} and attempts{code="BEE_MEMORY_EXCEEDED"} go up', async () => {
    const before = await scrape();
    const restarts = (e: Exposition) =>
      e.samples.filter((s) => s.name === 'apiary_bee_restarts_total' && s.labels.reason === 'memory').reduce((n, s) => n + s.value, 0);
    const t = await d.client.submit(js('bufferBomb', { capMb: 2048 }), { maxAttempts: 1 });
    const [done] = await allDone(d, [t.id]);
    // One attempt allowed: failed or abandoned (the scheduler's wording for it), never succeeded.
    expect(['failed', 'abandoned']).toContain(done!.state);
    expect(done!.attempts[0]!.error?.code).toBe('BEE_MEMORY_EXCEEDED');
    // The replacement bee is counted when the hive's next heartbeat reports it.
    const after = await waitFor(
      async () => {
        const e = await scrape();
        return restarts(e) > restarts(before) ? e : undefined;
      },
      HIVE_DEFAULTS.memoryPollMs + HEARTBEAT_SEEN_MS,
      'the restart in the metrics',
    );
    expect(restarts(after) - restarts(before)).toBe(1);
    expect(
      v(after, 'apiary_task_attempts_total', { code: 'BEE_MEMORY_EXCEEDED' }) - v(before, 'apiary_task_attempts_total', { code: 'BEE_MEMORY_EXCEEDED' }),
    ).toBe(1);
    const outcome = { kind: 'js', outcome: done!.state };
    expect(v(after, 'apiary_tasks_total', outcome) - v(before, 'apiary_tasks_total', outcome)).toBe(1);
    await d.waitIdle(2);
  });

  it('no token: 401 on the main port; the opt-in listener serves without one and binds only 127.0.0.1', async () => {
    expect((await fetch(`${d.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${'w'.repeat(40)}` } })).status).toBe(401);
    const m = new URL(d.metricsUrl);
    expect(m.hostname).toBe('127.0.0.1');
    const open = await fetch(d.metricsUrl);
    expect(open.status).toBe(200);
    const e = parseExposition(await open.text());
    expect(sampleValue(e, 'apiary_hives')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${m.port}/v1/colony`)).status).toBe(404);
    // All of 127/8 is this machine: another loopback address reaches every socket bound to 0.0.0.0,
    // but not one bound to 127.0.0.1 only.
    const elsewhere = await fetch(`http://127.0.0.2:${m.port}/metrics`).then(
      () => 'answered',
      (err: Error & { cause?: { code?: string } }) => err.cause?.code,
    );
    expect(elsewhere).toBe('ECONNREFUSED');
  });

  it('a hive that leaves takes its hive and bee series with it', async () => {
    const h = d.startHive('leaver');
    await d.waitHives(2);
    const withIt = await scrape();
    expect(v(withIt, 'apiary_hives')).toBe(2);
    expect(withIt.samples.filter((s) => s.labels.hive === 'leaver').map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'apiary_hive_heartbeat_age_seconds',
        'apiary_bees',
        'apiary_bee_rss_bytes',
        'apiary_bee_budget_bytes',
        'apiary_bee_restarts_total',
      ]),
    );
    h.kill('SIGTERM');
    await waitGone([h.pid!], HIVE_DEFAULTS.graceMs + LOAD_MARGIN_MS);
    // Its socket closes as it exits: the queen drops it at once, and the next scrape has no trace of it.
    const without = await waitFor(
      async () => {
        const e = await scrape();
        return v(e, 'apiary_hives') === 1 ? e : undefined;
      },
      LOAD_MARGIN_MS,
      'the hive gone from the metrics',
    );
    expect(without.samples.filter((s) => s.labels.hive === 'leaver')).toEqual([]);
  });
});

describe('metrics flags', () => {
  it('--metrics-host without --metrics-port, or a port out of range, is CONFIG_INVALID (exit 2)', async () => {
    const home = tempHome();
    try {
      for (const args of [
        ['--metrics-host', '127.0.0.1'],
        ['--metrics-port', '70000'],
        ['--metrics-port', 'nine'],
      ]) {
        const r = await execa(process.execPath, [QUEEN_BIN, '--port', '0', '--no-local-hive', ...args], {
          reject: false,
          timeout: 20_000,
          env: { ...process.env, APIARY_HOME: home },
        });
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/CONFIG_INVALID: queen config: metrics/);
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
