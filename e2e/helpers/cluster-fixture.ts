import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { QueenClient } from '../../services/keeper/src/client.js';
import { CLUSTER_HIVE_GRACE_MS, writeClusterFile } from './cluster-file.js';
import { FakePis, reapLeftovers } from './fakepi.js';
import { keeper } from './keeper.js';
import { pidsWithHome } from './procs.js';
import { LOAD_MARGIN_MS } from './timing.js';

/** A test may bring the whole cluster up first (ensureUp): ~10 s unloaded, 40 s seen loaded. */
export const CLUSTER_TEST_TIMEOUT_MS = 180_000;
/** Hives a stopping queen told to stop exit within their grace; a loaded machine adds LOAD_MARGIN_MS. */
export const STOP_GRACE_MS = CLUSTER_HIVE_GRACE_MS + LOAD_MARGIN_MS;

export interface QueenJson {
  url: string;
  pid: number;
  fingerprint?: string;
}

/**
 * The fixture the SSH cluster test files share, set up by `useCluster` inside their describe: n
 * fake Pis, an APIARY_HOME with a cluster.yaml for them (queen.port 0), keeper commands that are
 * killed if a test ends with them still running, and a teardown that stops the daemon and the
 * hives the way a user would, then fails the file if anything of theirs is still alive.
 */
export interface ClusterFixture {
  readonly pis: FakePis;
  readonly home: string;
  readonly file: string;
  /** A keeper command of this test (APIARY_HOME `h`, default the fixture's); killed by afterEach if still running. */
  run(args: string[], o?: { env?: Record<string, string>; home?: string; timeoutMs?: number }): ReturnType<typeof keeper>;
  /** Processes started on the hosts (they carry a host's home). */
  hostPids(): number[];
  queenJson(): QueenJson;
  /** A client of the daemon `cluster up` started, pinned to its certificate. */
  client(): QueenClient;
  /** Names of the hives connected with bees; null when no daemon answers. */
  connected(): Promise<Set<string> | null>;
  /** Idempotent: every test that needs the cluster up calls it, so each can run alone (-t). */
  ensureUp(): Promise<void>;
  /** No daemon and no hive on any host: for tests that start from nothing. */
  ensureDown(): Promise<void>;
}

export interface ClusterFixtureOptions {
  hosts: number;
  homePrefix: string;
  /** Names the file in the leak check's message. */
  what: string;
  /** Makes the fake Pis (default FakePis.create(hosts)); `home` is made first, for files they need. */
  createPis?: (home: string) => Promise<FakePis>;
  /** Writes the cluster file and returns its path (default writeClusterFile(home, pis)). */
  writeFile?: (home: string, pis: FakePis) => string;
  /** Extra arguments of ensureUp's `cluster up`, and its bound (default 120 s). */
  upArgs?: string[];
  upTimeoutMs?: number;
  /** Bound of the setup (default 120 s): an arm64 root filesystem may have to be built first. */
  setupTimeoutMs?: number;
  /** Bound of the teardown's keeper commands (default 120 s). */
  downTimeoutMs?: number;
  /** The teardown runs `cluster down` before `queen stop` (default true; false when hosts of the file stay unreachable). */
  downInTeardown?: boolean;
  /** Hives told to stop exit within this (default STOP_GRACE_MS). */
  stopGraceMs?: number;
  /** Checks after the fake Pis are gone (their dir passed), e.g. that no mount outlived them. */
  afterDestroy?: (pisDir: string) => void;
}

export function useCluster(o: ClusterFixtureOptions): ClusterFixture {
  const downTimeoutMs = o.downTimeoutMs ?? 120_000;
  let pis: FakePis | undefined;
  let home = '';
  let file = '';
  const running = new Set<ReturnType<typeof keeper>>();
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined || v === '') throw new Error(`cluster fixture: ${what} is not set up (beforeAll failed?)`);
    return v;
  };

  const f: ClusterFixture = {
    get pis() {
      return need(pis, 'the fake Pis');
    },
    get home() {
      return need(home, 'APIARY_HOME');
    },
    get file() {
      return need(file, 'cluster.yaml');
    },
    run(args, r = {}) {
      const p = keeper(args, r.home ?? home, { timeoutMs: r.timeoutMs ?? 120_000, env: r.env });
      running.add(p);
      void p.finally(() => running.delete(p));
      return p;
    },
    hostPids: () => (pis?.hosts ?? []).flatMap((h) => pidsWithHome(h.home)),
    queenJson: () => JSON.parse(readFileSync(path.join(home, 'queen.json'), 'utf8')) as QueenJson,
    client() {
      const q = f.queenJson();
      return new QueenClient(q.url, readFileSync(path.join(home, 'tokens/client.token'), 'utf8').trim(), q.fingerprint);
    },
    async connected() {
      if (pidsWithHome(home).length === 0) return null;
      const c = await f
        .client()
        .colony()
        .catch(() => null);
      return c ? new Set(c.hives.filter((h) => h.bees.length > 0).map((h) => h.resources.name)) : null;
    },
    async ensureUp() {
      const hives = await f.connected();
      if (hives && f.pis.hosts.every((h) => hives.has(h.name))) return;
      const r = await f.run(['cluster', 'up', file, ...(o.upArgs ?? [])], { timeoutMs: o.upTimeoutMs });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    },
    async ensureDown() {
      if (f.hostPids().length > 0) {
        const r = await f.run(['cluster', 'down', file]);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      }
      if (pidsWithHome(home).length > 0) {
        const r = await f.run(['queen', 'stop']);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      }
      expect(f.hostPids()).toEqual([]);
      expect(pidsWithHome(home)).toEqual([]);
    },
  };

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), o.homePrefix));
    pis = await (o.createPis ? o.createPis(home) : FakePis.create(o.hosts));
    // Default: queen.port 0; listen 0.0.0.0 (beyond loopback: TLS)
    file = o.writeFile ? o.writeFile(home, pis) : writeClusterFile(home, pis);
  }, o.setupTimeoutMs ?? 120_000);

  afterAll(async () => {
    try {
      if (home && file) {
        // The daemon and the hives are the tests' shared fixture: stopped the way a user would.
        if ((o.downInTeardown ?? true) && f.hostPids().length > 0) await f.run(['cluster', 'down', file], { timeoutMs: downTimeoutMs });
        // The daemon; it also tells the hives still joined to stop.
        if (pidsWithHome(home).length > 0) await f.run(['queen', 'stop'], { timeoutMs: downTimeoutMs });
        // Anything still running now leaked.
        await reapLeftovers(`after ${o.what}`, [...f.hostPids(), ...pidsWithHome(home)], o.stopGraceMs ?? STOP_GRACE_MS);
      }
    } finally {
      const dir = pis?.dir;
      await pis?.destroy();
      if (home) rmSync(home, { recursive: true, force: true });
      if (dir) o.afterDestroy?.(dir);
    }
  }, 2 * downTimeoutMs);

  afterEach(async () => {
    // After a failure or a timeout: a keeper command left running must not reach into the next test.
    const left = [...running];
    running.clear();
    for (const p of left) p.kill('SIGKILL');
    await Promise.all(left);
    if (left.length) throw new Error(`keeper still running when the test ended (killed): ${left.map((p) => p.spawnargs.slice(2).join(' ')).join('; ')}`);
  }, CLUSTER_TEST_TIMEOUT_MS);

  return f;
}
