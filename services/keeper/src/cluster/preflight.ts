import { ApiaryError } from '@apiary/protocol';
import { shellQuoteRemotePath } from './shell.js';
import { NAMES, pidOfHive } from './remote-hive.js';
import type { Ssh } from './ssh.js';

export interface HostFacts {
  home: string;
  node: string;
  arch: string;
  platform: string;
  cores: number;
  memAvailableBytes: number;
  diskFreeBytes: number;
  /** The install-set hash recorded when it was last unpacked (null: none, or the hive file is gone). */
  installedHash: string | null;
  /** The per-host files' hash recorded likewise (null when any of them is missing). */
  hostFilesHash: string | null;
  /** Our hive running there now, by its pidfile. */
  hivePid: number | null;
}

/** A remote path as a shell word: `~` and `~/…` become the remote user's $HOME. */
export function remoteWord(p: string): string {
  return p === '~' ? '"$HOME"' : shellQuoteRemotePath(p);
}

/** Remote paths may start with ~/: SFTP does not expand it, so we do, with the host's $HOME. */
export function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? `${home}/${p.slice(2)}` : p;
}

const MIN_DISK_BYTES = 300 * 1024 * 1024;

/**
 * Everything we need to know about a host before touching it, in one remote script (each exec is a
 * login-shell start on the host): its platform, room, what is installed (by hash) and whether our
 * hive runs. Every failure is a per-host error that says how to fix it. `hostFiles`: the remote
 * paths the per-host files go to (beside the config and token), which must all exist for the
 * recorded host-files hash to count.
 */
export async function preflight(ssh: Ssh, where: { installDir: string; home: string }, hostFiles: readonly string[] = []): Promise<HostFacts> {
  const name = ssh.target.name;
  const installDir = where.installDir;
  const has = (word: string) => `[ -f ${word} ]`;
  const script = [
    `D=${remoteWord(installDir)}`,
    `A=${remoteWord(where.home)}`,
    `printf 'home=%s\\n' "$HOME"`,
    `printf 'node=%s\\n' "$(node --version 2>/dev/null || echo missing)"`,
    `printf 'arch=%s\\n' "$(uname -m)"`,
    `printf 'platform=%s\\n' "$(uname -s)"`,
    `printf 'cores=%s\\n' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"`,
    `printf 'mem=%s\\n' "$(awk '/MemAvailable/ {print $2 * 1024}' /proc/meminfo 2>/dev/null)"`,
    `mkdir -p "$D" 2>/dev/null; if [ -d "$D" ] && [ -w "$D" ]; then echo writable=yes; else echo writable=no; fi`,
    `printf 'disk=%s\\n' "$(df -Pk "$D" 2>/dev/null | awk 'NR==2 {print $4 * 1024}')"`,
    `if command -v tar >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1; then echo unpack=yes; else echo unpack=no; fi`,
    `if ${has(`"$D/${NAMES.hive}"`)}; then printf 'installed=%s\\n' "$(cat "$D/${NAMES.installHash}" 2>/dev/null)"; fi`,
    `if ${[`"$A/${NAMES.config}"`, `"$A/${NAMES.token}"`, ...hostFiles.map(remoteWord)].map(has).join(' && ')}; then printf 'hostfiles=%s\\n' "$(cat "$A/${NAMES.hostHash}" 2>/dev/null)"; fi`,
    `printf 'hive=%s\\n' "$(${pidOfHive(`"$A/${NAMES.pid}"`, `"$D/${NAMES.hive}"`)})"`,
  ].join('\n');
  const r = await ssh.exec(script, { timeoutMs: 20_000 });
  const kv = Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const home = kv.home ?? '';
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
  if (kv.unpack !== 'yes') throw fail(`tar and gzip are needed on the host to unpack the install archive: install them (sudo apt-get install -y tar gzip)`);
  const hivePid = Number(kv.hive ?? '');
  return {
    home,
    node,
    arch: kv.arch ?? 'unknown',
    platform: (kv.platform ?? 'Linux').toLowerCase(),
    cores: Number(kv.cores ?? 1),
    memAvailableBytes: Number(kv.mem ?? 0),
    diskFreeBytes: disk,
    installedHash: kv.installed || null,
    hostFilesHash: kv.hostfiles || null,
    hivePid: Number.isInteger(hivePid) && hivePid > 0 ? hivePid : null,
  };
}
