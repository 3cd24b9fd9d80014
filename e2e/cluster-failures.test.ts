import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLUSTER_HIVE_GRACE_MS, writeClusterFile } from './helpers/cluster-file.js';
import { describeFakePis, FakePis, reapLeftovers, upTimeoutMs } from './helpers/fakepi.js';
import { keeper } from './helpers/keeper.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';
import { pidsWithHome } from './helpers/procs.js';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A PATH dir holding the basic tools a host has, but no node (and optionally a fake old one). */
function toolsDir(root: string, name: string, oldNode: boolean): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const t of [
    'sh',
    'bash',
    'uname',
    'nproc',
    'awk',
    'df',
    'mkdir',
    'cat',
    'tr',
    'grep',
    'tail',
    'printf',
    'getconf',
    'pgrep',
    'kill',
    'rm',
    'sleep',
    'hostname',
    'test',
  ]) {
    try {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), path.join(dir, t));
    } catch {
      // a builtin, or not installed: fine
    }
  }
  if (oldNode) {
    writeFileSync(path.join(dir, 'node'), '#!/bin/sh\necho v18.19.0\n');
    chmodSync(path.join(dir, 'node'), 0o755);
  }
  return dir;
}

/** beforeAll: 8 fake Pis made, then one `cluster up` (its keeper is given 120 s), plus a minute of slack. */
const SETUP_BOUND_MS = upTimeoutMs(8) + 120_000 + 60_000;

/** Hives a stopping queen told to stop exit within their grace; a loaded machine adds LOAD_MARGIN_MS. */
const STOP_GRACE_MS = CLUSTER_HIVE_GRACE_MS + LOAD_MARGIN_MS;

describeFakePis('cluster up failures: a clear per-host error while the other hosts come up', () => {
  let pis: FakePis | undefined;
  let home: string | undefined;
  let out = '';
  let code: number | undefined;

  beforeAll(async () => {
    const tools = mkdtempSync(path.join(os.tmpdir(), 'apiary-tools-'));
    try {
      pis = await FakePis.create(8, { 5: toolsDir(tools, 'nonode', false), 6: toolsDir(tools, 'oldnode', true) });
      home = mkdtempSync(path.join(os.tmpdir(), 'apiary-clfail-'));
      // pi2 logs in with a key the host does not know; pi3's host key is missing from known_hosts
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(home, 'stranger')]);
      writeFileSync(path.join(home, 'empty_known_hosts'), '');
      const file = writeClusterFile(home, pis, {
        setup: [`test "$(hostname -I | tr -d " ")" != ${pis.host(7).address} || { echo "setup refused on pi7" >&2; exit 3; }`],
        perHost: {
          2: { key: path.join(home, 'stranger') },
          3: { known_hosts: path.join(home, 'empty_known_hosts') },
          8: { install_dir: '/proc/apiary-cannot-write' },
        },
      });
      // pi4 stays cut for the whole file: its failure is part of the fixture.
      await pis.cut(4);
      const r = await keeper(['cluster', 'up', file, '--join-timeout', '20s'], home, { timeoutMs: 120_000 });
      out = r.stdout + r.stderr;
      code = r.exitCode;
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  }, SETUP_BOUND_MS);

  afterAll(async () => {
    try {
      if (home) {
        // The daemon `cluster up` started, and the hives it brought up (pi1; pi3 after the last
        // test), are this file's fixture: `queen stop` shuts them down. Anything left then leaked.
        await keeper(['queen', 'stop'], home, { timeoutMs: 60_000 });
        await reapLeftovers(
          'after the cluster failure tests',
          [...(pis?.hosts.flatMap((h) => pidsWithHome(h.home)) ?? []), ...pidsWithHome(home)],
          STOP_GRACE_MS,
        );
      }
    } finally {
      await pis?.destroy();
      if (home) rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  it('says which hosts are up and exits 1', () => {
    expect(out).toMatch(/1\/8 host\(s\) up/);
    expect(code).toBe(1);
    expect(out).not.toMatch(/pi1: failed/);
  });

  // The pattern is built when the test runs: pi4's address is known only once the fake Pis exist.
  const cases: [string, string, () => RegExp][] = [
    ['pi2', 'connect: SSH_AUTH_FAILED', () => /pi2: failed at connect: SSH_AUTH_FAILED: .*refused the key .*stranger.*authorized_keys/],
    ['pi3', 'connect: HOST_KEY_UNKNOWN', () => /pi3: failed at connect: HOST_KEY_UNKNOWN: .*not in .*empty_known_hosts.*ssh-keyscan.*--accept-new-host-keys/],
    ['pi4', 'connect: HOST_UNREACHABLE', () => new RegExp(`pi4: failed at connect: HOST_UNREACHABLE: cannot reach ${escapeRe(pis!.host(4).address)}:22`)],
    ['pi5', 'preflight: PREFLIGHT_FAILED', () => /pi5: failed at preflight: PREFLIGHT_FAILED: node is not on the PATH/],
    ['pi6', 'preflight: PREFLIGHT_FAILED', () => /pi6: failed at preflight: PREFLIGHT_FAILED: node v18\.19\.0 is too old: apiary needs Node\.js 20 or newer/],
    ['pi7', 'setup: SETUP_FAILED', () => /pi7: failed at setup: SETUP_FAILED: .*exited 3: setup refused on pi7/],
    ['pi8', 'preflight: PREFLIGHT_FAILED', () => /pi8: failed at preflight: PREFLIGHT_FAILED: cannot write to \/proc\/apiary-cannot-write/],
  ];
  for (const [host, title, re] of cases) it(`${host} fails at ${title}`, () => expect(out).toMatch(re()));

  it("records every host in the queen's node registry: last seen, or the last error", async () => {
    const { QueenClient } = await import('../services/keeper/src/client.js');
    const state = JSON.parse(readFileSync(path.join(home!, 'queen.json'), 'utf8')) as { url: string; fingerprint?: string };
    // The cluster's queen serves https (it listens beyond loopback): pin its certificate.
    const q = new QueenClient(state.url, readFileSync(path.join(home!, 'tokens/client.token'), 'utf8').trim(), state.fingerprint);
    const { nodes } = await q.nodes();
    expect(nodes.map((n) => n.name)).toEqual(['pi1', 'pi2', 'pi3', 'pi4', 'pi5', 'pi6', 'pi7', 'pi8']);
    expect(nodes[0]).toMatchObject({ address: pis!.host(1).address, user: 'root', lastError: null });
    expect(nodes[0]!.lastSeen).toBeGreaterThan(0);
    expect(nodes[1]).toMatchObject({ lastSeen: null, lastError: expect.stringMatching(/^SSH_AUTH_FAILED/) });
  });

  it('started nothing on the hosts that failed', () => {
    for (const h of pis!.hosts.slice(1)) expect(pidsWithHome(h.home)).toEqual([]);
  });

  it('--accept-new-host-keys adds an unknown host key to known_hosts and brings the host up', async () => {
    const knownHosts = path.join(home!, 'empty_known_hosts');
    // queen.port 0 again: this `up` finds the daemon the first one started and tells pi3 its port.
    const file = writeClusterFile(home!, pis!, { hosts: [3], knownHosts });
    const r = await keeper(['cluster', 'up', file, '--accept-new-host-keys'], home!, { timeoutMs: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\/1 host\(s\) up/);
    expect(readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^${escapeRe(pis!.host(3).address)} ssh-ed25519 `, 'm'));
  }, 180_000);
});
