import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeClusterFile } from './helpers/cluster-file.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { describeFakePis, FakePis, upTimeoutMs } from './helpers/fakepi.js';
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

/** The fixture's setup: 8 fake Pis made (the bound `up` of 8 hosts allows). */
const PIS_BOUND_MS = upTimeoutMs(8);
/** beforeAll: one `cluster up` (its keeper is given 120 s), plus a minute of slack. */
const UP_BOUND_MS = 120_000 + 60_000;

describeFakePis('cluster up failures: a clear per-host error while the other hosts come up', () => {
  const cl = useCluster({
    hosts: 8,
    homePrefix: 'apiary-clfail-',
    what: 'the cluster failure tests',
    setupTimeoutMs: PIS_BOUND_MS,
    // pi5 has no node on its PATH, pi6 an old one (the tools dirs go with the home).
    createPis: (home) => FakePis.create(8, { 5: toolsDir(home, 'nonode', false), 6: toolsDir(home, 'oldnode', true) }),
    writeFile: (home, pis) => {
      // pi2 logs in with a key the host does not know; pi3's host key is missing from known_hosts
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(home, 'stranger')]);
      writeFileSync(path.join(home, 'empty_known_hosts'), '');
      return writeClusterFile(home, pis, {
        setup: [`test "$(hostname -I | tr -d " ")" != ${pis.host(7).address} || { echo "setup refused on pi7" >&2; exit 3; }`],
        perHost: {
          2: { key: path.join(home, 'stranger') },
          3: { known_hosts: path.join(home, 'empty_known_hosts') },
          8: { install_dir: '/proc/apiary-cannot-write' },
        },
      });
    },
    // pi4 stays cut, pi2 refuses our key: `queen stop` shuts down the hives that came up (pi1; pi3
    // after the last test) without an SSH round to every host of the file.
    downInTeardown: false,
  });
  let out = '';
  let code: number | undefined;

  beforeAll(async () => {
    // pi4 stays cut for the whole file: its failure is part of the fixture.
    await cl.pis.cut(4);
    const r = await cl.run(['cluster', 'up', cl.file, '--join-timeout', '20s']);
    out = r.stdout + r.stderr;
    code = r.exitCode;
  }, UP_BOUND_MS);

  it('says which hosts are up and exits 1', () => {
    expect(out).toMatch(/1\/8 host\(s\) up/);
    expect(code).toBe(1);
    expect(out).not.toMatch(/pi1: failed/);
  });

  // The pattern is built when the test runs: pi4's address is known only once the fake Pis exist.
  const cases: [string, string, () => RegExp][] = [
    ['pi2', 'connect: SSH_AUTH_FAILED', () => /pi2: failed at connect: SSH_AUTH_FAILED: .*refused the key .*stranger.*authorized_keys/],
    ['pi3', 'connect: HOST_KEY_UNKNOWN', () => /pi3: failed at connect: HOST_KEY_UNKNOWN: .*not in .*empty_known_hosts.*ssh-keyscan.*--accept-new-host-keys/],
    ['pi4', 'connect: HOST_UNREACHABLE', () => new RegExp(`pi4: failed at connect: HOST_UNREACHABLE: cannot reach ${escapeRe(cl.pis.host(4).address)}:22`)],
    ['pi5', 'preflight: PREFLIGHT_FAILED', () => /pi5: failed at preflight: PREFLIGHT_FAILED: node is not on the PATH/],
    ['pi6', 'preflight: PREFLIGHT_FAILED', () => /pi6: failed at preflight: PREFLIGHT_FAILED: node v18\.19\.0 is too old: apiary needs Node\.js 20 or newer/],
    ['pi7', 'setup: SETUP_FAILED', () => /pi7: failed at setup: SETUP_FAILED: .*exited 3: setup refused on pi7/],
    ['pi8', 'preflight: PREFLIGHT_FAILED', () => /pi8: failed at preflight: PREFLIGHT_FAILED: cannot write to \/proc\/apiary-cannot-write/],
  ];
  for (const [host, title, re] of cases) it(`${host} fails at ${title}`, () => expect(out).toMatch(re()));

  it("records every host in the queen's node registry: last seen, or the last error", async () => {
    // The cluster's queen serves https (it listens beyond loopback): the client pins its certificate.
    const { nodes } = await cl.client().nodes();
    expect(nodes.map((n) => n.name)).toEqual(['pi1', 'pi2', 'pi3', 'pi4', 'pi5', 'pi6', 'pi7', 'pi8']);
    expect(nodes[0]).toMatchObject({ address: cl.pis.host(1).address, user: 'root', lastError: null });
    expect(nodes[0]!.lastSeen).toBeGreaterThan(0);
    expect(nodes[1]).toMatchObject({ lastSeen: null, lastError: expect.stringMatching(/^SSH_AUTH_FAILED/) });
  });

  it('started nothing on the hosts that failed', () => {
    for (const h of cl.pis.hosts.slice(1)) expect(pidsWithHome(h.home)).toEqual([]);
  });

  it('--accept-new-host-keys adds an unknown host key to known_hosts and brings the host up', async () => {
    const knownHosts = path.join(cl.home, 'empty_known_hosts');
    // queen.port 0 again: this `up` finds the daemon the first one started and tells pi3 its port.
    const file = writeClusterFile(cl.home, cl.pis, { hosts: [3], knownHosts });
    const r = await cl.run(['cluster', 'up', file, '--accept-new-host-keys']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\/1 host\(s\) up/);
    expect(readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^${escapeRe(cl.pis.host(3).address)} ssh-ed25519 `, 'm'));
  }, 180_000);
});
