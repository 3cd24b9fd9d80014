import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeClusterFile } from './helpers/cluster-file.js';
import { describeFakePis, FakePis } from './helpers/fakepi.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';

/**
 * Host keys against a real sshd (one fake Pi, whose only host key is ed25519), read as OpenSSH
 * does. `cluster exec` connects and runs a command without starting a queen.
 */
describeFakePis('host keys, checked as OpenSSH checks them', () => {
  let pis: FakePis | undefined;
  let home = '';

  beforeAll(async () => {
    pis = await FakePis.create(1);
    home = mkdtempSync(path.join(os.tmpdir(), 'apiary-hostkeys-'));
  }, 120_000);
  afterAll(async () => {
    try {
      await pis?.destroy();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('the listed key connects; a key of another type listed instead is HOST_KEY_MISMATCH; a @revoked key is HOST_KEY_REVOKED', async () => {
    const pi = pis!.host(1);
    const real = readFileSync(pis!.knownHostsPath, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${pi.address} `))!;
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', path.join(home, 'other')]);
    const ecdsa = readFileSync(path.join(home, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const run = async (name: string, lines: string[]) => {
      const kh = path.join(home, name);
      writeFileSync(kh, lines.join('\n') + '\n');
      const r = await keeper(['cluster', 'exec', writeClusterFile(home, pis!, { knownHosts: kh }), '--', 'true'], home, { timeoutMs: 60_000 });
      return { ...r, out: r.stdout + r.stderr, after: readFileSync(kh, 'utf8') };
    };

    const ok = await run('kh-ok', [real]);
    expect(ok.exitCode, ok.out).toBe(0);

    // Before, a host listed only with keys of other types read as unknown (and --accept-new-host-keys added the new key).
    const otherType = await run('kh-other-type', [`${pi.address} ${ecdsa}`]);
    expect(otherType.exitCode, otherType.out).toBe(1);
    expect(otherType.out).toMatch(/HOST_KEY_MISMATCH/);

    const revoked = await run('kh-revoked', [real, `@revoked ${real}`]);
    expect(revoked.exitCode, revoked.out).toBe(1);
    expect(revoked.out).toMatch(/HOST_KEY_REVOKED: .*marked @revoked/);
    expect(revoked.after).toBe(`${real}\n@revoked ${real}\n`);

    expect(pidsWithHome(pi.home)).toEqual([]);
  }, 120_000);
});
