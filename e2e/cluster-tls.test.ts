import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TASKS } from './helpers/colony.js';
import { CLUSTER_TEST_TIMEOUT_MS, STOP_GRACE_MS, useCluster } from './helpers/cluster-fixture.js';
import { HIVE_BIN } from './helpers/daemon.js';
import { describeFakePis, type FakePis } from './helpers/fakepi.js';
import { alive, pidsWithHome, waitFor } from './helpers/procs.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

/*
 * TLS between the queen and its hives on fake Pis: `cluster up` starts a queen that listens beyond
 * loopback, so it serves https/wss with a certificate it made (kept under APIARY_HOME/tls); the hives
 * get wss:// and the certificate's fingerprint in their 0600 config, and pin it.
 */

const HOSTS = ['pi1', 'pi2'];
const TEST_TIMEOUT_MS = CLUSTER_TEST_TIMEOUT_MS;
/** A hive process started by hand reaches its first connection attempt within this, on a loaded machine (waitHives allows as much). */
const HIVE_FIRST_ATTEMPT_MS = 20_000;
/**
 * A hive whose queen went away redials after its backoff (queen-link.ts backoffMs: capped at 5 s,
 * +50 % jitter), and an attempt that raced the restart may wait out its 5 s handshake timeout first.
 */
const REJOIN_WITHIN_MS = 5000 * 1.5 + 5000 + LOAD_MARGIN_MS;

describeFakePis('TLS between the queen and hives on 2 fake Pis (pinned certificate)', () => {
  const c = useCluster({ hosts: HOSTS.length, homePrefix: 'apiary-cluster-tls-', what: 'the cluster TLS tests' });
  const { hostPids, queenJson, client, ensureUp } = c;
  const run = (args: string[], env?: Record<string, string>, h?: string) => c.run(args, { env, home: h });
  const clientToken = () => readFileSync(path.join(home, 'tokens/client.token'), 'utf8').trim();
  let pis: FakePis;
  let home: string;
  let file: string;
  // listen 0.0.0.0: beyond loopback, so TLS
  beforeAll(() => ({ pis, home, file } = c));

  it(
    'cluster up: an https queen with a kept certificate; hives join over wss with its fingerprint; a SQL and a JS task run',
    async () => {
      await ensureUp();
      const q = queenJson();
      expect(q.url).toMatch(/^https:\/\//);
      // The certificate made at first start, kept under APIARY_HOME/tls with a 0600 key; queen.json names it.
      const cert = new X509Certificate(readFileSync(path.join(home, 'tls', 'queen.crt')));
      expect(q.fingerprint).toBe(cert.fingerprint256);
      expect(statSync(path.join(home, 'tls', 'queen.key')).mode & 0o777).toBe(0o600);
      // Its names cover the address each hive dials.
      for (const h of pis.hosts) expect(cert.checkIP(h.hostSideAddress), h.hostSideAddress).toBe(h.hostSideAddress);
      // Each hive got wss:// and the fingerprint, beside its join token, in 0600 files.
      for (const h of pis.hosts) {
        const cfgFile = path.join(h.home, 'hive-config.json');
        const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as { queen: string; 'queen-fingerprint'?: string };
        expect(cfg.queen).toMatch(new RegExp(`^wss://${h.hostSideAddress.replace(/\./g, '\\.')}:\\d+/v1/hive$`));
        expect(cfg['queen-fingerprint']).toBe(q.fingerprint);
        expect(statSync(cfgFile).mode & 0o777).toBe(0o600);
        expect(statSync(path.join(h.home, 'join.token')).mode & 0o777).toBe(0o600);
      }
      const c = client();
      const colony = await c.colony();
      expect(colony.hives.map((h) => h.resources.name).sort()).toEqual(HOSTS);
      const sql = await c.submit({ kind: 'sql', sql: 'SELECT 6 * 7 AS x' }, {}, 30_000);
      expect(sql).toMatchObject({ state: 'succeeded', value: { kind: 'sql', rows: [{ x: 42 }] } });
      const js = await c.submit({ kind: 'js', module: TASKS, export: 'echo', args: { over: 'wss' } }, {}, 30_000);
      expect(js).toMatchObject({ state: 'succeeded', value: { kind: 'js', value: { over: 'wss' } } });
      // The keeper CLI finds the daemon through queen.json and pins the same certificate.
      const k = await run(['sql', 'SELECT 40 + 2 AS answer', '--format', 'json']);
      expect(k.exitCode, k.stderr).toBe(0);
      expect(k.stdout).toContain('42');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'the certificate is kept: a restarted queen serves the same one, and the running hives, still pinned to it, rejoin',
    async () => {
      await ensureUp();
      const before = queenJson();
      const port = new URL(before.url).port;
      const hivePids = pis.hosts.map((h) => readFileSync(path.join(h.home, 'hive.pid'), 'utf8').trim());
      // The daemon goes and comes back on its port; the hives keep running and redial it.
      const stop = await run(['queen', 'stop', '--keep-hives']);
      expect(stop.exitCode, stop.stdout + stop.stderr).toBe(0);
      const start = await run(['queen', 'start', '--detach', '--host', '0.0.0.0', '--port', port, '--no-local-hive']);
      expect(start.exitCode, start.stdout + start.stderr).toBe(0);
      const after = queenJson();
      expect(after.pid).not.toBe(before.pid);
      expect(after.url).toBe(before.url);
      expect(after.fingerprint).toBe(before.fingerprint);
      const rejoined = async () => {
        const c = await client()
          .colony()
          .catch(() => null);
        return c !== null && HOSTS.every((n) => c.hives.some((h) => h.resources.name === n && h.bees.length > 0));
      };
      await waitFor(rejoined, REJOIN_WITHIN_MS, 'both hives rejoined the restarted queen over wss');
      expect(pis.hosts.map((h) => readFileSync(path.join(h.home, 'hive.pid'), 'utf8').trim())).toEqual(hivePids);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeper sql --cluster with no daemon: its ephemeral queen serves TLS with a certificate made for the run, and the attached hives pin it',
    async () => {
      if (hostPids().length > 0) expect((await run(['cluster', 'down', file])).exitCode).toBe(0);
      if (pidsWithHome(home).length > 0) expect((await run(['queen', 'stop'])).exitCode).toBe(0);
      expect([...hostPids(), ...pidsWithHome(home)]).toEqual([]);
      const crt = path.join(home, 'tls', 'queen.crt');
      const kept = existsSync(crt) ? statSync(crt).mtimeMs : null;
      const r = await run(['sql', '--cluster', file, 'SELECT 6 * 7 AS answer', '--format', 'json', '--verbose'], { APIARY_LOG_LEVEL: 'info' });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      // Only the hosts' hives run it (the ephemeral cluster queen has none of its own), so they joined over wss.
      expect(r.stdout).toContain('42');
      expect(r.stderr).toMatch(/TLS: generated certificate, SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      // Its certificate lived in memory: the daemon's kept one (if any) is untouched, none was written.
      expect(existsSync(crt) ? statSync(crt).mtimeMs : null).toBe(kept);
      await waitFor(() => [...hostPids(), ...pidsWithHome(home)].length === 0, STOP_GRACE_MS, 'the run ended everything it started');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'the TLS port refuses plain http and plain ws: neither a token nor a hello crosses in clear',
    async () => {
      await ensureUp();
      const port = new URL(queenJson().url).port;
      const plain = await fetch(`http://127.0.0.1:${port}/v1/health`, { headers: { authorization: `Bearer ${clientToken()}` } }).then(
        (r) => r.status,
        (e: Error) => e,
      );
      expect(plain, 'a plain-http request must not be answered').toBeInstanceOf(Error);
      const ws = await new Promise<'open' | Error>((resolve) => {
        const s = new WebSocket(`ws://127.0.0.1:${port}/v1/hive`);
        s.once('open', () => {
          s.terminate();
          resolve('open');
        });
        s.once('error', (e) => resolve(e));
      });
      expect(ws, 'a plain ws upgrade must not open').toBeInstanceOf(Error);
      // The queen is fine, over https.
      expect((await client().colony()).hives).toHaveLength(HOSTS.length);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a hive given a wrong fingerprint refuses the queen (TLS_PIN_MISMATCH in its log, retried) and never joins',
    async () => {
      await ensureUp();
      const q = queenJson();
      const hex = q.fingerprint!.replace(/:/g, '');
      const wrong = (hex[0] === 'A' ? 'B' : 'A') + hex.slice(1);
      const cache = mkdtempSync(path.join(os.tmpdir(), 'apiary-wrong-pin-'));
      const lines: string[] = [];
      const h = spawn(
        process.execPath,
        [
          HIVE_BIN,
          '--queen',
          `wss://127.0.0.1:${new URL(q.url).port}/v1/hive`,
          '--queen-fingerprint',
          wrong,
          '--name',
          'wrong-pin',
          '--bees',
          '1',
          '--memory-per-bee',
          '256MiB',
          '--cache-dir',
          cache,
        ],
        {
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, APIARY_HOME: cache, APIARY_JOIN_TOKEN: readFileSync(path.join(home, 'tokens/join.token'), 'utf8').trim() },
        },
      );
      createInterface({ input: h.stderr! }).on('line', (l) => lines.push(l));
      try {
        const mismatches = () => lines.filter((l) => l.includes('TLS_PIN_MISMATCH'));
        // Two refusals: the hive tried again (backoff) and was refused again, never falling back to trusting it.
        await waitFor(() => mismatches().length >= 2, HIVE_FIRST_ATTEMPT_MS + 5000 + LOAD_MARGIN_MS, 'two TLS_PIN_MISMATCH lines in the hive log');
        expect(mismatches()[0]).toContain(q.fingerprint);
        expect(mismatches()[0]).toContain('cluster up');
        const colony = await client().colony();
        expect(colony.hives.map((x) => x.resources.name)).not.toContain('wrong-pin');
        expect(alive(h.pid!)).toBe(true); // still refusing, not crashed
      } finally {
        const exited = new Promise((r) => (h.exitCode !== null ? r(null) : h.once('exit', r)));
        h.kill('SIGTERM');
        await exited;
        rmSync(cache, { recursive: true, force: true });
      }
      expect(alive(h.pid!)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeper with a wrong fingerprint in config.json gets TLS_PIN_MISMATCH (exit 1) and sends nothing',
    async () => {
      await ensureUp();
      const q = queenJson();
      const other = mkdtempSync(path.join(os.tmpdir(), 'apiary-keeper-pin-'));
      try {
        const hex = q.fingerprint!.replace(/:/g, '');
        const wrong = (hex[0] === 'A' ? 'B' : 'A') + hex.slice(1);
        writeFileSync(path.join(other, 'config.json'), JSON.stringify({ queen: q.url, token: clientToken(), fingerprint: wrong }), { mode: 0o600 });
        const bad = await run(['status'], undefined, other);
        expect(bad.exitCode, bad.stdout + bad.stderr).toBe(1);
        expect(bad.stderr).toContain('TLS_PIN_MISMATCH');
        // The right one works from the same config.
        writeFileSync(path.join(other, 'config.json'), JSON.stringify({ queen: q.url, token: clientToken(), fingerprint: q.fingerprint }), { mode: 0o600 });
        const good = await run(['status'], undefined, other);
        expect(good.exitCode, good.stdout + good.stderr).toBe(0);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    },
    TEST_TIMEOUT_MS,
  );
});
