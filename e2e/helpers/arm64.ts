import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { canRunFakePis } from './fakepi.js';

/**
 * An arm64 fake Pi: a fake Pi (fakepi.sh) whose sshd chroots into an arm64 Debian root filesystem,
 * where a real arm64 node runs under qemu-user (binfmt_misc). The rootfs is built once per machine
 * by scripts/arm64-rootfs.sh and cached as a tarball keyed by its recipe. See TESTING.md
 * ("An arm64 fake Pi").
 */

const execFileP = promisify(execFile);
export const ARM64_ROOTFS_SCRIPT = fileURLToPath(new URL('../../scripts/arm64-rootfs.sh', import.meta.url));
const BINFMT_CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';

/**
 * How much slower code runs on the emulated host than here: TESTING.md measured ~7x for Node
 * start-up and 10-20x for DuckDB open and small queries under qemu-user; we take the top. Every
 * timeout for work on the arm64 host is a native budget times this.
 */
export const EMULATION_FACTOR = 20;
export const emulated = (nativeMs: number): number => nativeMs * EMULATION_FACTOR;

/**
 * A build of the rootfs, when not cached (once per machine): TESTING.md measured ~2.5 min unloaded;
 * with other test runs on this 2-core machine (load average ~25) it took 25 min. Dpkg under qemu is
 * CPU-bound, so the build scales with the load: allow the loaded figure with room.
 */
export const ROOTFS_BUILD_TIMEOUT_MS = 40 * 60_000;

function has(bin: string, args: string[]): boolean {
  return !spawnSync(bin, args, { stdio: 'ignore', timeout: 10_000 }).error;
}

async function tarballPath(): Promise<string> {
  return (await execFileP('bash', [ARM64_ROOTFS_SCRIPT, 'path'])).stdout.trim();
}

/** Whether this machine can run an arm64 fake Pi; `why` says what is missing. */
export function canRunArm64(): { ok: boolean; why?: string } {
  const fp = canRunFakePis();
  if (!fp.ok) return fp;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return { ok: false, why: `no qemu recipe for a ${process.arch} machine` };
  if (!existsSync(BINFMT_CONF)) return { ok: false, why: `${BINFMT_CONF} not found (apt-get install -y qemu-user-static)` };
  if (!has('zstd', ['--version'])) return { ok: false, why: 'zstd not found (apt-get install -y zstd)' };
  if (!has('unshare', ['--version'])) return { ok: false, why: 'unshare not found (apt-get install -y util-linux)' };
  const cached = spawnSync('bash', [ARM64_ROOTFS_SCRIPT, 'path'], { encoding: 'utf8' }).stdout.trim();
  if (!existsSync(cached)) {
    if (!has('mmdebstrap', ['--version']))
      return { ok: false, why: 'no cached arm64 rootfs and mmdebstrap not found (apt-get install -y mmdebstrap arch-test)' };
    if (!has('arch-test', ['-h'])) return { ok: false, why: 'no cached arm64 rootfs and arch-test not found (apt-get install -y arch-test)' };
  }
  return { ok: true };
}

const inCi = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

/** describe() for arm64 fake-Pi tests: under CI=true a missing prerequisite fails, elsewhere it skips (see describeFakePis). */
export function describeArm64(name: string, fn: () => void): void {
  const can = canRunArm64();
  if (can.ok) {
    describe(name, fn);
  } else if (inCi) {
    describe(name, () => {
      it('can run an arm64 fake Pi (root, sshd, ip netns, qemu-user-static, mmdebstrap or a cached rootfs)', () => {
        throw new Error(`CI=true, but this machine cannot run the arm64 fake-Pi tests: ${can.why}`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${can.why}`);
    describe.skip(name, fn);
  }
}

/**
 * The cached rootfs tarball, built first if this machine has none (once per machine), with
 * qemu-aarch64 registered with binfmt_misc. `builtMs` is how long a build took (null: cached).
 */
export async function ensureArm64Rootfs(): Promise<{ tarball: string; builtMs: number | null; bytes: number }> {
  await execFileP('bash', [ARM64_ROOTFS_SCRIPT, 'binfmt'], { timeout: 30_000 });
  const cached = existsSync(await tarballPath());
  const t0 = Date.now();
  let tarball: string;
  try {
    tarball = (await execFileP('bash', [ARM64_ROOTFS_SCRIPT, 'ensure'], { timeout: ROOTFS_BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 })).stdout.trim();
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`arm64-rootfs.sh ensure failed: ${err.message}\n${err.stderr ?? ''}`);
  }
  return { tarball, builtMs: cached ? null : Date.now() - t0, bytes: statSync(tarball).size };
}
