import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { alive } from './procs.js';

/**
 * Fake Raspberry Pis for tests: network namespaces, each with a veth link to this machine and a
 * real sshd inside, made and removed by scripts/fakepi.sh (see that script and
 * /work/shared/design/TESTING.md).
 *
 * Every set of fake Pis is a run with its own id X (`netId`), reserved under a lock by the script:
 * host K is namespace apiary-X-piK, reached at 10.X.K.2 (ssh as root with `keyPath`, host keys in
 * `knownHostsPath`). From inside host K, this machine is reachable only at 10.X.K.1: a queen the
 * hives must reach has to listen on 0.0.0.0 (or on each 10.X.K.1), and the hive on piK must be
 * told ws://10.X.K.1:PORT. Two runs at once (two test files, two CI jobs) never collide.
 */

const execFileP = promisify(execFile);

export const FAKEPI_SCRIPT = fileURLToPath(new URL('../../scripts/fakepi.sh', import.meta.url));
export const SSHD = '/usr/sbin/sshd';
/** Every fake-Pi namespace is called apiary-X-piK. */
const NS_RE = /^apiary-\d+-pi\d+$/;

export interface FakePiHost {
  /** pi1, pi2, ... */
  name: string;
  /** 1-based host number K. */
  index: number;
  /** Its network namespace: apiary-X-piK. */
  namespace: string;
  /** Where ssh reaches the host: 10.X.K.2. */
  address: string;
  /** This machine as seen from inside the host: 10.X.K.1 (the queen's address for its hive). */
  hostSideAddress: string;
  /** DIR/piK/opt: the host's remote install dir. */
  installDir: string;
  /** DIR/piK/home: the host's APIARY_HOME. */
  home: string;
  /** DIR/piK/sshd.pid */
  sshdPidFile: string;
  /** DIR/piK/sshd.log */
  sshdLog: string;
  /** An arm64 host (FakePis.create's `rootfs`): DIR/piK/rootfs, its root as its sessions see it. */
  rootfs?: string;
}

/** Whether this machine can run fake Pis; `why` says what is missing (to print when skipping). */
export function canRunFakePis(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: `fake Pis need Linux network namespaces (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'fake Pis need root (network namespaces, veth links, sshd on port 22)' };
  if (!existsSync(SSHD)) return { ok: false, why: `${SSHD} not found (apt-get install -y openssh-server)` };
  for (const [bin, args, pkg] of [
    ['ip', ['netns', 'list'], 'iproute2'],
    ['flock', ['--version'], 'util-linux'],
    ['ssh', ['-V'], 'openssh-client'],
    ['ssh-keygen', ['-?'], 'openssh-client'],
  ] as const) {
    const r = spawnSync(bin, [...args], { stdio: 'ignore', timeout: 10_000 });
    if (r.error) return { ok: false, why: `${bin} not usable (${r.error.message}; apt-get install -y ${pkg})` };
    if (bin === 'ip' && r.status !== 0) return { ok: false, why: '`ip netns list` failed: network namespaces are not usable here' };
  }
  return { ok: true };
}

/** CI=true (or 1): the machine is meant to run every test, so a missing prerequisite is a failure. */
const inCi = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

/**
 * describe() for tests that need fake Pis. When this machine cannot run them: under CI=true the
 * suite is a single failing test that says what is missing; elsewhere (a laptop without root) it
 * is skipped, and the reason is printed.
 */
export function describeFakePis(name: string, fn: () => void): void {
  const can = canRunFakePis();
  if (can.ok) {
    describe(name, fn);
  } else if (inCi) {
    describe(name, () => {
      it('can run fake Pis (root, sshd, ip netns)', () => {
        throw new Error(`CI=true, but this machine cannot run the fake-Pi tests: ${can.why}`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${can.why}`);
    describe.skip(name, fn);
  }
}

/**
 * For afterAll: gives the pids `exitWithinMs` to exit on their own (processes already told to stop,
 * e.g. hives a stopping queen sent `shutdown`), then kills the rest (SIGKILL) and throws if there
 * were any, so a leak fails the run instead of being swept away quietly. `what` says where.
 */
export async function reapLeftovers(what: string, pids: number[], exitWithinMs = 0): Promise<void> {
  const unique = [...new Set(pids)];
  const deadline = Date.now() + exitWithinMs;
  while (unique.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = unique.filter(alive);
  if (left.length === 0) return;
  const described = left.map((p) => `${p} (${cmdline(p)})`);
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`leaked process(es) ${what}, killed now: ${described.join('; ')}`);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 160);
  } catch {
    return '?';
  }
}

async function runScript(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await execFileP('bash', [FAKEPI_SCRIPT, ...args], { timeout: timeoutMs, killSignal: 'SIGTERM', env });
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: number | string };
    throw new Error(`fakepi.sh ${args.join(' ')} failed (${err.code ?? err.message}):\n${err.stderr ?? ''}`);
  }
}

/** Names of the fake-Pi namespaces (apiary-X-piK) that exist now, of every run or only of run `netId`. */
export async function fakePiNamespaces(netId?: number): Promise<string[]> {
  const { stdout } = await execFileP('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => NS_RE.test(n) && (netId === undefined || n.startsWith(`apiary-${netId}-`)));
}

/**
 * How long `fakepi.sh up N` may take: each host is a namespace, a veth link, an sshd and a login
 * probe, made one after another; on a loaded machine (2 cores, load ~20) 8 hosts took 90 s.
 */
export const upTimeoutMs = (n: number) => 60_000 + n * 15_000;

export class FakePis {
  private destroyed = false;

  private constructor(
    readonly dir: string,
    /** This run's id X: its hosts use 10.X.0.0/16 and namespaces apiary-X-piK. */
    readonly netId: number,
    readonly hosts: FakePiHost[],
  ) {}

  /** Private key (ed25519) that root on every host accepts. */
  get keyPath(): string {
    return path.join(this.dir, 'id_ed25519');
  }

  /** OpenSSH known_hosts with "10.X.K.2 ssh-ed25519 AAAA..." for every host. */
  get knownHostsPath(): string {
    return path.join(this.dir, 'known_hosts');
  }

  /**
   * Creates n fake Pis (pi1..pin) and waits until each sshd lets us in. `paths[k]` replaces host k's
   * session PATH (e.g. to hide node, or to put a fake old node first). `rootfs[k]`, a tarball from
   * scripts/arm64-rootfs.sh, makes host k an arm64 Pi chrooted into it (see fakepi.sh).
   */
  static async create(n: number, paths: Record<number, string> = {}, rootfs: Record<number, string> = {}): Promise<FakePis> {
    if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`FakePis.create: n must be 1..200, got ${n}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-fakepi-'));
    try {
      // FAKEPI_OWNER: if this process dies without destroy(), the next `up` reclaims the run.
      const env = {
        ...process.env,
        FAKEPI_OWNER: String(process.pid),
        ...Object.fromEntries(Object.entries(paths).map(([k, v]) => [`FAKEPI_PATH_${k}`, v])),
        ...Object.fromEntries(Object.entries(rootfs).map(([k, v]) => [`FAKEPI_ROOTFS_${k}`, v])),
      };
      // An arm64 host unpacks ~200 MB and its first login runs bash under qemu: more time.
      await runScript(['up', String(n), dir], Object.keys(rootfs).length > 0 ? 180_000 : upTimeoutMs(n), env);
    } catch (e) {
      // The script's trap tears down what it made; if it was killed (timeout), `down` does.
      await runScript(['down', dir], 60_000).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const netId = Number(readFileSync(path.join(dir, 'net'), 'utf8').trim());
    const hosts: FakePiHost[] = [];
    for (let k = 1; k <= n; k++) {
      const hostDir = path.join(dir, `pi${k}`);
      hosts.push({
        name: `pi${k}`,
        index: k,
        namespace: `apiary-${netId}-pi${k}`,
        address: `10.${netId}.${k}.2`,
        hostSideAddress: `10.${netId}.${k}.1`,
        installDir: path.join(hostDir, 'opt'),
        home: path.join(hostDir, 'home'),
        sshdPidFile: path.join(hostDir, 'sshd.pid'),
        sshdLog: path.join(hostDir, 'sshd.log'),
        ...(rootfs[k] ? { rootfs: path.join(hostDir, 'rootfs') } : {}),
      });
    }
    return new FakePis(dir, netId, hosts);
  }

  /** Host K (1-based). */
  host(k: number): FakePiHost {
    const h = this.hosts[k - 1];
    if (!h) throw new Error(`no fake Pi ${k} (have ${this.hosts.length})`);
    return h;
  }

  /** The host key blob (what ssh2's hostVerifier receives) recorded for a host's address. */
  hostKey(address: string): Buffer {
    for (const line of readFileSync(this.knownHostsPath, 'utf8').split('\n')) {
      const [addr, , b64] = line.trim().split(/\s+/);
      if (addr === address && b64) return Buffer.from(b64, 'base64');
    }
    throw new Error(`no host key for ${address} in ${this.knownHostsPath}`);
  }

  /** Pids of the hosts' sshd listeners, from their pidfiles. */
  sshdPids(): number[] {
    const pids: number[] = [];
    for (const h of this.hosts) {
      try {
        const pid = Number(readFileSync(h.sshdPidFile, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0) pids.push(pid);
      } catch {
        // no pidfile
      }
    }
    return pids;
  }

  /** Takes host K's link down: a network partition between this machine and piK. */
  async cut(k: number): Promise<void> {
    this.host(k);
    await runScript(['cut', this.dir, String(k)], 10_000);
  }

  /** Brings host K's link back up. */
  async heal(k: number): Promise<void> {
    this.host(k);
    await runScript(['heal', this.dir, String(k)], 10_000);
  }

  /** This run's namespaces that exist now. */
  namespaces(): Promise<string[]> {
    return fakePiNamespaces(this.netId);
  }

  /**
   * Removes this run's fake Pis (and nothing of another run), then asserts that it worked: none of
   * its namespaces remains, no sshd from the pidfiles is alive, and the dir is gone. Calling it
   * again does nothing.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const pids = this.sshdPids();
    await runScript(['down', this.dir], 60_000);
    const problems: string[] = [];
    const left = await this.namespaces();
    if (left.length) problems.push(`namespaces still there: ${left.join(', ')}`);
    const living = pids.filter(alive);
    if (living.length) problems.push(`sshd still alive: ${living.join(', ')}`);
    if (existsSync(this.dir)) problems.push(`${this.dir} still exists`);
    const { stdout: guard } = await execFileP('ip', ['-4', 'route', 'show', `10.${this.netId}.0.0/16`]);
    if (guard.trim()) problems.push(`guard route still there: ${guard.trim()}`);
    if (problems.length) throw new Error(`fake Pi cleanup incomplete: ${problems.join('; ')}`);
  }
}
