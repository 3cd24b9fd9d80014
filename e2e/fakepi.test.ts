import { existsSync, readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alive } from './helpers/procs.js';
import { describeFakePis, FakePis, type FakePiHost } from './helpers/fakepi.js';

// The test infrastructure for `keeper cluster up/down`: real sshd in network namespaces.

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

describeFakePis('fake Pis: real sshd in network namespaces', () => {
  let pis: FakePis | undefined;

  beforeAll(async () => {
    pis = await FakePis.create(2);
  }, 120_000);

  afterAll(async () => {
    await pis?.destroy(); // after a failure; the last test destroys them otherwise
  });

  it('runs node over ssh on each host, in its own namespace, with the host key from known_hosts', async () => {
    const p = pis!;
    const x = p.netId;
    expect(p.hosts.map((h) => [h.name, h.namespace, h.address, h.hostSideAddress])).toEqual([
      ['pi1', `apiary-${x}-pi1`, `10.${x}.1.2`, `10.${x}.1.1`],
      ['pi2', `apiary-${x}-pi2`, `10.${x}.2.2`, `10.${x}.2.1`],
    ]);
    expect((await p.namespaces()).sort()).toEqual([`apiary-${x}-pi1`, `apiary-${x}-pi2`]);
    for (const h of p.hosts) {
      expect(existsSync(h.installDir)).toBe(true);
      expect(existsSync(h.home)).toBe(true);
      const r = await sshExec(p, h, 'node --version && hostname -I && ip netns identify $$');
      expect(r, r.stderr).toMatchObject({ code: 0 });
      const [version, addr, ns] = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim());
      expect(version).toMatch(/^v\d+\.\d+\.\d+$/);
      expect(addr).toBe(h.address);
      expect(ns).toBe(h.namespace);
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

  it('a cut link fails ssh to that host at once (EHOSTUNREACH) while the other works; heal restores it', async () => {
    const p = pis!;
    const [h1, h2] = [p.host(1), p.host(2)];
    // The run's unreachable route makes a connect to a cut host fail at once. Without it the SYN
    // would leave by the default route and ssh2 would wait for its handshake until readyTimeout;
    // failing before readyTimeout, with EHOSTUNREACH, is what shows the guard works.
    const readyTimeout = 10_000;
    await p.cut(1);
    try {
      const t0 = Date.now();
      const err = await sshExec(p, h1, 'true', readyTimeout).then(
        () => undefined,
        (e: Error) => e,
      );
      const ms = Date.now() - t0;
      expect(err, 'ssh to a cut host must fail').toBeInstanceOf(Error);
      expect((err as NodeJS.ErrnoException).code, err?.message).toBe('EHOSTUNREACH');
      expect(ms).toBeLessThan(readyTimeout);
      const r2 = await sshExec(p, h2, 'echo still-here');
      expect(r2.stdout.trim()).toBe('still-here');
    } finally {
      await p.heal(1);
    }
    const r1 = await sshExec(p, h1, 'node --version');
    expect(r1.code).toBe(0);
  });

  it('two sets made at the same time get their own namespaces and addresses, both work, and each tears down only itself', async () => {
    const made = await Promise.allSettled([FakePis.create(2), FakePis.create(2)]);
    const sets = made.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
    try {
      for (const m of made) if (m.status === 'rejected') throw m.reason;
      const [a, b] = sets as [FakePis, FakePis];
      expect(a.netId).not.toBe(b.netId);
      const all = [pis!, a, b].flatMap((s) => s.hosts);
      expect(new Set(all.map((h) => h.namespace)).size).toBe(all.length);
      expect(new Set(all.map((h) => h.address)).size).toBe(all.length);
      for (const s of [a, b]) {
        for (const h of s.hosts) {
          const r = await sshExec(s, h, 'hostname -I && ip netns identify $$');
          expect(r.stdout.trim().split(/\s+/)).toEqual([h.address, h.namespace]);
        }
      }
      // Tearing down a leaves b (and this file's own set) untouched and working.
      await a.destroy();
      expect(await a.namespaces()).toEqual([]);
      expect((await b.namespaces()).sort()).toEqual(b.hosts.map((h) => h.namespace));
      expect((await sshExec(b, b.host(2), 'echo b-still-here')).stdout.trim()).toBe('b-still-here');
      expect((await sshExec(pis!, pis!.host(1), 'echo mine-still-here')).stdout.trim()).toBe('mine-still-here');
      await b.destroy();
      expect(await b.namespaces()).toEqual([]);
    } finally {
      for (const s of sets) await s.destroy(); // no-op for a set destroyed above
    }
  }, 300_000); // 45 s with one core kept busy; 105 s with a second run of the cluster tests beside it

  it('destroy removes the namespaces, the sshds and the dir', async () => {
    const p = pis!;
    const pids = p.sshdPids();
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    expect((await p.namespaces()).sort()).toEqual(p.hosts.map((h) => h.namespace));
    pis = undefined;
    await p.destroy(); // asserts the cleanup itself; checked again here
    expect(await p.namespaces()).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(p.dir)).toBe(false);
  });
});
