import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alive } from './procs.js';

/**
 * Fake Raspberry Pis for tests: network namespaces apiary-pi1..N, each with a veth link to this
 * machine and a real sshd inside, made and removed by scripts/fakepi.sh (see that script and
 * /work/shared/design/TESTING.md).
 *
 * Host K is reached at 10.201.K.2 (ssh as root with `keyPath`, host keys in `knownHostsPath`).
 * From inside host K, this machine is reachable only at 10.201.K.1: a queen the hives must reach
 * has to listen on 0.0.0.0 (or on each 10.201.K.1), and the hive on piK must be told
 * ws://10.201.K.1:PORT.
 */

const execFileP = promisify(execFile);

export const FAKEPI_SCRIPT = fileURLToPath(new URL('../../scripts/fakepi.sh', import.meta.url));
export const SSHD = '/usr/sbin/sshd';
const NS_PREFIX = 'apiary-pi';

export interface FakePiHost {
  /** pi1, pi2, ... */
  name: string;
  /** 1-based host number K. */
  index: number;
  /** Where ssh reaches the host: 10.201.K.2. */
  address: string;
  /** This machine as seen from inside the host: 10.201.K.1 (the queen's address for its hive). */
  hostSideAddress: string;
  /** DIR/piK/opt: the host's remote install dir. */
  installDir: string;
  /** DIR/piK/home: the host's APIARY_HOME. */
  home: string;
  /** DIR/piK/sshd.pid */
  sshdPidFile: string;
  /** DIR/piK/sshd.log */
  sshdLog: string;
}

/** Whether this machine can run fake Pis; `why` says what is missing (to print when skipping). */
export function canRunFakePis(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: `fake Pis need Linux network namespaces (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'fake Pis need root (network namespaces, veth links, sshd on port 22)' };
  if (!existsSync(SSHD)) return { ok: false, why: `${SSHD} not found (apt-get install -y openssh-server)` };
  for (const [bin, args, pkg] of [
    ['ip', ['netns', 'list'], 'iproute2'],
    ['ssh', ['-V'], 'openssh-client'],
    ['ssh-keygen', ['-?'], 'openssh-client'],
  ] as const) {
    const r = spawnSync(bin, [...args], { stdio: 'ignore', timeout: 10_000 });
    if (r.error) return { ok: false, why: `${bin} not usable (${r.error.message}; apt-get install -y ${pkg})` };
    if (bin === 'ip' && r.status !== 0) return { ok: false, why: '`ip netns list` failed: network namespaces are not usable here' };
  }
  return { ok: true };
}

async function runScript(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await execFileP('bash', [FAKEPI_SCRIPT, ...args], { timeout: timeoutMs, killSignal: 'SIGTERM', env });
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: number | string };
    throw new Error(`fakepi.sh ${args.join(' ')} failed (${err.code ?? err.message}):\n${err.stderr ?? ''}`);
  }
}

/** Names of the namespaces called apiary-pi* that exist now. */
export async function fakePiNamespaces(): Promise<string[]> {
  const { stdout } = await execFileP('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(NS_PREFIX));
}

export class FakePis {
  private destroyed = false;

  private constructor(
    readonly dir: string,
    readonly hosts: FakePiHost[],
  ) {}

  /** Private key (ed25519) that root on every host accepts. */
  get keyPath(): string {
    return path.join(this.dir, 'id_ed25519');
  }

  /** OpenSSH known_hosts with "10.201.K.2 ssh-ed25519 AAAA..." for every host. */
  get knownHostsPath(): string {
    return path.join(this.dir, 'known_hosts');
  }

  /**
   * Creates n fake Pis (pi1..pin) and waits until each sshd lets us in. `paths[k]` replaces host k's
   * session PATH (e.g. to hide node, or to put a fake old node first).
   */
  static async create(n: number, paths: Record<number, string> = {}): Promise<FakePis> {
    if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`FakePis.create: n must be 1..200, got ${n}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-fakepi-'));
    try {
      const env = { ...process.env, ...Object.fromEntries(Object.entries(paths).map(([k, v]) => [`FAKEPI_PATH_${k}`, v])) };
      await runScript(['up', String(n), dir], 60_000, env);
    } catch (e) {
      // The script's trap has already torn down what it made; the dir may remain if it failed early.
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const hosts: FakePiHost[] = [];
    for (let k = 1; k <= n; k++) {
      const hostDir = path.join(dir, `pi${k}`);
      hosts.push({
        name: `pi${k}`,
        index: k,
        address: `10.201.${k}.2`,
        hostSideAddress: `10.201.${k}.1`,
        installDir: path.join(hostDir, 'opt'),
        home: path.join(hostDir, 'home'),
        sshdPidFile: path.join(hostDir, 'sshd.pid'),
        sshdLog: path.join(hostDir, 'sshd.log'),
      });
    }
    return new FakePis(dir, hosts);
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
    await runScript(['cut', String(k)], 10_000);
  }

  /** Brings host K's link back up. */
  async heal(k: number): Promise<void> {
    this.host(k);
    await runScript(['heal', String(k)], 10_000);
  }

  /**
   * Removes every fake Pi, then asserts that it worked: no apiary-pi* namespace remains, no sshd
   * from the pidfiles is alive, and the dir is gone. Calling it again does nothing.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const pids = this.sshdPids();
    await runScript(['down', this.dir], 60_000);
    const problems: string[] = [];
    const left = await fakePiNamespaces();
    if (left.length) problems.push(`namespaces still there: ${left.join(', ')}`);
    const living = pids.filter(alive);
    if (living.length) problems.push(`sshd still alive: ${living.join(', ')}`);
    if (existsSync(this.dir)) problems.push(`${this.dir} still exists`);
    if (problems.length) throw new Error(`fake Pi cleanup incomplete: ${problems.join('; ')}`);
  }
}
