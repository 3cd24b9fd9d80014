import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { bindingVersion } from '../services/keeper/src/cluster/bindings.js';
import { describeArm64, emulated, ensureArm64Rootfs, ROOTFS_BUILD_TIMEOUT_MS } from './helpers/arm64.js';
import { CLUSTER_HIVE_GRACE_MS } from './helpers/cluster-file.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { FakePis, type FakePiHost } from './helpers/fakepi.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';
import { lossCheckEveryMs } from '../services/queen/src/hives/hive-registry.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

/*
 * An arm64 Pi in the cluster: one fake Pi whose sshd chroots into an arm64 Debian root filesystem
 * (scripts/arm64-rootfs.sh, cached per machine) with a real arm64 node under qemu-user. The real
 * `keeper cluster up` provisions it from a cluster file (DuckDB's arm64 binding fetched from the
 * npm registry, since this x64 machine has only its own), its bees run SQL and JS as arm64, its
 * memory budget is enforced, it survives a cut and heal, and `cluster down` leaves nothing.
 */

const require = createRequire(import.meta.url);
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const BINDING = '@duckdb/node-bindings-linux-arm64';
const MiB = 1024 * 1024;
const BUDGET = 512 * MiB;

/** Native budgets on a loaded machine (2 cores, one kept busy), each stretched by emulated(). */
const NATIVE = {
  /** A hive starting and its bee opening DuckDB, until the queen lists it with bees. */
  joinMs: 5_000,
  /** One small SQL or JS task, submit to result. */
  taskMs: 3_000,
  /** SSH logins and remote commands of a no-change `cluster up` or of `cluster down`. */
  sshStepsMs: 5_000,
};
/** The arm64 binding's tarball (~20 MB) from the registry: bindings.ts gives up after 120 s. */
const BINDING_FETCH_MS = 120_000;
/** `cluster up` from nothing: its remote steps and the join run emulated; the binding fetch does not. */
const JOIN_TIMEOUT_MS = emulated(NATIVE.joinMs);
const UP_TIMEOUT_MS = BINDING_FETCH_MS + emulated(NATIVE.sshStepsMs) + JOIN_TIMEOUT_MS;
const TASK_TIMEOUT_MS = emulated(NATIVE.taskMs);
/**
 * The cluster's queen waits this long for the arm64 hive's heartbeat (cluster.yaml queen.hive_timeout):
 * an emulated hive starved on a loaded machine missed the native 3 s default once at load ~20.
 */
const ARM64_HIVE_TIMEOUT_MS = 10_000;
/** A cut link closes no socket: the (native) queen declares the hive lost after its heartbeat timeout. */
const HIVE_LOST_WITHIN_MS = ARM64_HIVE_TIMEOUT_MS + lossCheckEveryMs(ARM64_HIVE_TIMEOUT_MS) + LOAD_MARGIN_MS;
/** Healed, the hive's next reconnect comes within its backoff cap (5 s, +50% jitter: queen-link.ts), then an emulated hello. */
const REJOIN_WITHIN_MS = 7_500 + emulated(NATIVE.taskMs) + LOAD_MARGIN_MS;
/** The memory bomb: 16 MiB filled every 50 ms natively; under emulation slower, to the budget plus one poll. */
const BOMB_KILLED_WITHIN_MS = emulated((BUDGET / (16 * MiB)) * 50) + LOAD_MARGIN_MS;
/** Hives a stopping queen told to stop exit within their grace, an emulated process exit later. */
const STOP_GRACE_MS = CLUSTER_HIVE_GRACE_MS + emulated(1_000);

describeArm64('an arm64 Pi in the SSH cluster (qemu-user, chroot, real sshd)', () => {
  let pi: FakePiHost;
  let tasksDir: string;
  const cl = useCluster({
    hosts: 1,
    homePrefix: 'apiary-arm64-',
    what: 'the arm64 cluster tests',
    setupTimeoutMs: ROOTFS_BUILD_TIMEOUT_MS + 180_000,
    createPis: async () => {
      const t0 = Date.now();
      const rootfs = await ensureArm64Rootfs();
      console.info(
        `arm64 rootfs ${rootfs.tarball} (${(rootfs.bytes / MiB).toFixed(0)} MiB): ${rootfs.builtMs === null ? 'cached' : `built in ${(rootfs.builtMs / 1000).toFixed(1)} s`}`,
      );
      const t1 = Date.now();
      const pis = await FakePis.create(1, {}, { 1: rootfs.tarball });
      console.info(`arm64 fake Pi up (unpack + sshd) in ${((Date.now() - t1) / 1000).toFixed(1)} s; rootfs step ${((t1 - t0) / 1000).toFixed(1)} s`);
      pi = pis.host(1);
      tasksDir = `${path.dirname(pi.installDir)}/tasks`;
      return pis;
    },
    writeFile: (home, pis) => writeArm64ClusterFile(home, pis, tasksDir),
    upArgs: ['--join-timeout', `${JOIN_TIMEOUT_MS}ms`],
    upTimeoutMs: UP_TIMEOUT_MS,
    downTimeoutMs: Math.max(60_000, emulated(NATIVE.sshStepsMs)),
    stopGraceMs: STOP_GRACE_MS,
    // The chroot's mounts lived in a private mount namespace of the host's sshd: none may outlive it.
    afterDestroy: (dir) => expect(processesMounting(dir)).toEqual([]),
  });
  const run = (args: string[], timeoutMs: number) => cl.run(args, { timeoutMs });
  const client = () => cl.client();
  const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: `${tasksDir}/arch-tasks.mjs`, export: exportName, args });
  /** Processes in the host's network namespace: its sshd, and whatever our hive started. */
  const nsPids = () => execFileSync('ip', ['netns', 'pids', pi.namespace], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  const hivePids = () => pidsWithHome(pi.home);

  async function arm64Hive() {
    if (pidsWithHome(cl.home).length === 0) return null;
    const c = await client()
      .colony()
      .catch(() => null);
    return c?.hives.find((h) => h.resources.name === pi.name && h.bees.length > 0) ?? null;
  }

  /** Each test that needs the cluster calls this, so it can run alone (-t). */
  const ensureUp = () => cl.ensureUp();

  it(
    'cluster up provisions the arm64 host from the cluster file, with its DuckDB binding fetched from the npm registry',
    async () => {
      // This machine has no arm64 binding: `up` must fetch it (the point of the test on x64).
      expect(() => require.resolve(`${BINDING}/package.json`)).toThrow();
      const t0 = Date.now();
      const r = await run(['cluster', 'up', cl.file, '--join-timeout', `${JOIN_TIMEOUT_MS}ms`], UP_TIMEOUT_MS);
      const upMs = Date.now() - t0;
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/1\/1 host\(s\) up/);
      console.info(`cluster up of the arm64 host from nothing: ${(upMs / 1000).toFixed(1)} s`);
      const cached = path.join(cl.home, 'cache', 'bindings', `${BINDING}@${bindingVersion()}`);
      expect(existsSync(path.join(cached, 'duckdb.node')), `${cached} holds the fetched binding`).toBe(true);
      // What the host got is that binding, inside its chroot.
      const uploaded = path.join(pi.rootfs!, pi.installDir, 'node_modules', BINDING, 'duckdb.node');
      expect(readFileSync(uploaded).equals(readFileSync(path.join(cached, 'duckdb.node')))).toBe(true);
      const hive = await arm64Hive();
      expect(hive?.resources).toMatchObject({ arch: 'arm64', platform: 'linux' });
    },
    UP_TIMEOUT_MS + 30_000,
  );

  it(
    "SQL and JS tasks run on the arm64 host's bees: DuckDB is linux_arm64, process.arch is arm64",
    async () => {
      await ensureUp();
      const q = client();
      const sql = await q.run({ kind: 'sql', sql: 'SELECT platform FROM pragma_platform()' }, { maxAttempts: 1, timeoutMs: TASK_TIMEOUT_MS });
      expect(sql.state, JSON.stringify(sql.error)).toBe('succeeded');
      expect(sql.value).toMatchObject({ kind: 'sql', rows: [{ platform: 'linux_arm64' }] });
      const t = await q.run(js('arch'), { maxAttempts: 1, timeoutMs: TASK_TIMEOUT_MS });
      expect(t.state, JSON.stringify(t.error)).toBe('succeeded');
      expect(t.value).toMatchObject({ kind: 'js', value: { arch: 'arm64', platform: 'linux', machine: 'aarch64' } });
      expect(t.attempts.at(-1)!.hive.split('#')[0]).toBe(pi.name);
    },
    UP_TIMEOUT_MS + 2 * TASK_TIMEOUT_MS,
  );

  it(
    'memory on the arm64 host reads true (not 0), and a memory bomb there is killed with BEE_MEMORY_EXCEEDED',
    async () => {
      await ensureUp();
      const q = client();
      // Under qemu-user a process's own RSS reads 0; the hive must read its bees' real RSS anyway.
      const bee = await waitFor(
        async () => (await arm64Hive())?.bees.find((b) => b.state === 'idle' && b.rssBytes > 0),
        TASK_TIMEOUT_MS,
        'an idle arm64 bee with its memory read',
      );
      expect(bee.memoryError).toBeUndefined();
      expect(bee.rssBytes).toBeLessThan(BUDGET);
      const t = await q.run(js('bufferBomb', { capMb: 2 * (BUDGET / MiB) }), { maxAttempts: 1, timeoutMs: BOMB_KILLED_WITHIN_MS });
      expect(t.state).toBe('failed');
      expect(t.error?.code, t.error?.message).toBe('BEE_MEMORY_EXCEEDED');
      // The RSS monitor's kill (Buffers are outside V8's heap cap), with a reading over the budget.
      const details = t.error?.details as { rssBytes: number; budgetBytes: number; source?: string };
      expect(details.source).toBeUndefined();
      expect(details.budgetBytes).toBe(BUDGET);
      expect(details.rssBytes).toBeGreaterThan(BUDGET);
      // The bee is replaced and reads true again.
      await waitFor(
        async () => (await arm64Hive())?.bees.find((b) => b.pid !== bee.pid && b.state === 'idle' && b.rssBytes > 0 && !b.memoryError),
        emulated(NATIVE.joinMs),
        'a replacement arm64 bee',
      );
    },
    UP_TIMEOUT_MS + BOMB_KILLED_WITHIN_MS + emulated(NATIVE.joinMs),
  );

  it(
    `a cut link: the arm64 hive is lost within ${HIVE_LOST_WITHIN_MS} ms; healed, it rejoins and runs tasks again`,
    async () => {
      await ensureUp();
      const q = client();
      await cl.pis.cut(1);
      try {
        const t0 = Date.now();
        await waitFor(async () => !(await arm64Hive()), HIVE_LOST_WITHIN_MS + 10_000, 'the arm64 hive lost');
        const lostAfterMs = Date.now() - t0;
        expect(lostAfterMs, `lost ${lostAfterMs} ms after the cut`).toBeLessThanOrEqual(HIVE_LOST_WITHIN_MS);
      } finally {
        await cl.pis.heal(1);
      }
      await waitFor(() => arm64Hive(), REJOIN_WITHIN_MS, 'the arm64 hive back');
      const t = await q.run(js('arch'), { maxAttempts: 1, timeoutMs: TASK_TIMEOUT_MS });
      expect(t.state, JSON.stringify(t.error)).toBe('succeeded');
      expect(t.value).toMatchObject({ kind: 'js', value: { arch: 'arm64' } });
    },
    UP_TIMEOUT_MS + HIVE_LOST_WITHIN_MS + 10_000 + REJOIN_WITHIN_MS + TASK_TIMEOUT_MS,
  );

  it(
    'cluster down stops the arm64 hive: only the host sshd is left in its namespace',
    async () => {
      await ensureUp();
      expect(hivePids().length).toBeGreaterThanOrEqual(2); // hive + bee
      const r = await run(['cluster', 'down', cl.file], emulated(NATIVE.sshStepsMs));
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/no process of ours remains/);
      expect(hivePids()).toEqual([]);
      expect(nsPids()).toEqual(cl.pis.sshdPids());
    },
    UP_TIMEOUT_MS + emulated(NATIVE.sshStepsMs),
  );
});

/** Processes (in any mount namespace) with a mount whose source is under dir. */
function processesMounting(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/mountinfo`, 'utf8').includes(dir)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The arm64 host's cluster file: its own filesystem (the chroot), so the task module goes with the install. */
function writeArm64ClusterFile(home: string, pis: FakePis, tasksDir: string): string {
  const pi = pis.host(1);
  const file = path.join(home, 'cluster.yaml');
  writeFileSync(
    file,
    [
      'cluster: arm64',
      'queen:',
      `  address: ${pi.hostSideAddress}`,
      '  port: 0',
      '  listen: 0.0.0.0',
      `  hive_timeout: ${ARM64_HIVE_TIMEOUT_MS}ms`,
      'defaults:',
      '  user: root',
      `  key: ${pis.keyPath}`,
      `  known_hosts: ${pis.knownHostsPath}`,
      '  bees: 1',
      `  memory_per_bee: ${BUDGET / MiB}MiB`,
      'hive:',
      `  grace: ${CLUSTER_HIVE_GRACE_MS}ms`,
      'file_mounts:',
      `  ${tasksDir}/arch-tasks.mjs: ${path.join(FIXTURES, 'arch-tasks.mjs')}`,
      'hosts:',
      `  - name: ${pi.name}`,
      `    address: ${pi.address}`,
      `    queen_address: ${pi.hostSideAddress}`,
      `    install_dir: ${pi.installDir}`,
      `    home: ${pi.home}`,
    ].join('\n') + '\n',
  );
  return file;
}
