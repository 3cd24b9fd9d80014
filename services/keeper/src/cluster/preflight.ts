import { ApiaryError } from '@apiary/protocol';
import { shellQuote } from '@apiary/config';
import type { Ssh } from './ssh.js';

export interface HostFacts {
  home: string;
  node: string;
  arch: string;
  platform: string;
  cores: number;
  memAvailableBytes: number;
  diskFreeBytes: number;
}

/** Remote paths may start with ~/: SFTP does not expand it, so we do, with the host's $HOME. */
export function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? `${home}/${p.slice(2)}` : p;
}

const MIN_DISK_BYTES = 300 * 1024 * 1024;

/**
 * Everything we need to know about a host before touching it, in one round trip, and every
 * failure as a per-host error that says how to fix it.
 */
export async function preflight(ssh: Ssh, installDir: string): Promise<HostFacts> {
  const name = ssh.target.name;
  const home = (await ssh.exec('printf %s "$HOME"', { timeoutMs: 15_000 })).stdout.trim();
  const dir = shellQuote(expandHome(installDir, home));
  const script = [
    `printf 'node=%s\\n' "$(node --version 2>/dev/null || echo missing)"`,
    `printf 'arch=%s\\n' "$(uname -m)"`,
    `printf 'platform=%s\\n' "$(uname -s)"`,
    `printf 'cores=%s\\n' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"`,
    `printf 'mem=%s\\n' "$(awk '/MemAvailable/ {print $2 * 1024}' /proc/meminfo 2>/dev/null)"`,
    `mkdir -p ${dir} 2>/dev/null; if [ -d ${dir} ] && [ -w ${dir} ]; then echo writable=yes; else echo writable=no; fi`,
    `printf 'disk=%s\\n' "$(df -Pk ${dir} 2>/dev/null | awk 'NR==2 {print $4 * 1024}')"`,
  ].join('; ');
  const r = await ssh.exec(script, { timeoutMs: 20_000 });
  const kv = Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const fail = (msg: string) => new ApiaryError('PREFLIGHT_FAILED', `${name}: ${msg}`);
  const node = kv.node ?? 'missing';
  if (node === 'missing' || !/^v\d+\./.test(node)) {
    throw fail(
      `node is not on the PATH of ${ssh.target.user}@${ssh.target.address} for non-interactive SSH: install Node.js 20 or newer, or put it on the PATH that sshd gives commands (~/.profile is not read)`,
    );
  }
  const major = Number(node.slice(1).split('.')[0]);
  if (major < 20) throw fail(`node ${node} is too old: apiary needs Node.js 20 or newer`);
  if (kv.writable !== 'yes') {
    throw fail(
      `cannot write to ${expandHome(installDir, home)} as ${ssh.target.user}: create it and give it to that user (sudo mkdir -p DIR && sudo chown ${ssh.target.user} DIR), or pick another install_dir`,
    );
  }
  const disk = Number(kv.disk ?? 0);
  if (disk > 0 && disk < MIN_DISK_BYTES)
    throw fail(`only ${(disk / 1048576).toFixed(0)} MiB free under ${installDir}: a hive needs at least ${MIN_DISK_BYTES / 1048576} MiB`);
  return {
    home,
    node,
    arch: kv.arch ?? 'unknown',
    platform: (kv.platform ?? 'Linux').toLowerCase(),
    cores: Number(kv.cores ?? 1),
    memAvailableBytes: Number(kv.mem ?? 0),
    diskFreeBytes: disk,
  };
}
