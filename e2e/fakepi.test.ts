import { existsSync, readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from './helpers/procs.js';
import { canRunFakePis, fakePiNamespaces, FakePis, type FakePiHost } from './helpers/fakepi.js';

// The test infrastructure for `keeper cluster up/down`: real sshd in network namespaces.
const can = canRunFakePis();
if (!can.ok) console.warn(`skipping fake-Pi tests: ${can.why}`);

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command on a fake Pi over real ssh, checking its host key against known_hosts. */
function sshExec(pis: FakePis, host: FakePiHost, command: string, readyTimeout = 5_000): Promise<ExecResult> {
  const expected = pis.hostKey(host.address);
  return new Promise((resolve, reject) => {
    const conn = new Client();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      conn.end();
      reject(err);
    };
    conn.on('error', fail);
    conn.on('ready', () => {
      conn.exec(command, (err, stream) => {
        if (err) return fail(err);
        let stdout = '';
        let stderr = '';
        stream.on('data', (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('close', (code: number | null) => {
          if (settled) return;
          settled = true;
          conn.end();
          resolve({ code, stdout, stderr });
        });
      });
    });
    conn.connect({
      host: host.address,
      port: 22,
      username: 'root',
      privateKey: readFileSync(pis.keyPath),
      readyTimeout,
      hostVerifier: (key: Buffer) => key.equals(expected),
    });
  });
}

describe.skipIf(!can.ok)('fake Pis: real sshd in network namespaces', () => {
  let pis: FakePis | undefined;

  beforeAll(async () => {
    pis = await FakePis.create(2);
  });

  afterAll(async () => {
    await pis?.destroy(); // after a failure; the last test destroys them otherwise
  });

  it('runs node over ssh on each host, with the host key from known_hosts', async () => {
    const p = pis!;
    expect(p.hosts.map((h) => [h.name, h.address, h.hostSideAddress])).toEqual([
      ['pi1', '10.201.1.2', '10.201.1.1'],
      ['pi2', '10.201.2.2', '10.201.2.1'],
    ]);
    for (const h of p.hosts) {
      expect(existsSync(h.installDir)).toBe(true);
      expect(existsSync(h.home)).toBe(true);
      const r = await sshExec(p, h, 'node --version');
      expect(r, r.stderr).toMatchObject({ code: 0 });
      expect(r.stdout.trim()).toMatch(/^v\d+\.\d+\.\d+$/);
    }

    // The host key really is checked: pi1 must not pass for a host with pi2's key.
    const wrong = p.hostKey(p.host(2).address);
    const conn = new Client();
    const err = await new Promise<Error>((resolve) => {
      conn.on('error', resolve);
      conn.on('ready', () => resolve(new Error('connected although the host key was wrong')));
      conn.connect({
        host: p.host(1).address,
        username: 'root',
        privateKey: readFileSync(p.keyPath),
        readyTimeout: 5_000,
        hostVerifier: (key: Buffer) => key.equals(wrong),
      });
    });
    conn.end();
    expect(err.message).toMatch(/verification failed/i);
  });

  it('a cut link fails ssh to that host quickly while the other works; heal restores it', async () => {
    const p = pis!;
    const [h1, h2] = [p.host(1), p.host(2)];
    await p.cut(1);
    try {
      const t0 = Date.now();
      const err = await sshExec(p, h1, 'true', 3_000).then(
        () => undefined,
        (e: Error) => e,
      );
      const ms = Date.now() - t0;
      expect(err, 'ssh to a cut host must fail').toBeInstanceOf(Error);
      expect(ms).toBeLessThan(5_000);
      const r2 = await sshExec(p, h2, 'echo still-here');
      expect(r2.stdout.trim()).toBe('still-here');
    } finally {
      await p.heal(1);
    }
    const r1 = await sshExec(p, h1, 'node --version');
    expect(r1.code).toBe(0);
  });

  it('destroy removes the namespaces, the sshds and the dir', async () => {
    const p = pis!;
    const pids = p.sshdPids();
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    expect(await fakePiNamespaces()).toEqual(expect.arrayContaining(['apiary-pi1', 'apiary-pi2']));
    pis = undefined;
    await p.destroy(); // asserts the cleanup itself; checked again here
    expect(await fakePiNamespaces()).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(p.dir)).toBe(false);
  });
});
