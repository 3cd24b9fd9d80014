import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiaryHome } from '@apiary/config';
import type { HiveResources } from '@apiary/protocol';
import { expandHome } from './preflight.js';
import { wantedFor, type ClusterJob, type HostSpec, type MadeHost } from './provision.js';

/**
 * What the last `cluster up` from this APIARY_HOME left on each host, so that an `up` with nothing
 * changed need not ask the hosts: every SSH exec costs a handshake and the login user's shell rc
 * (~0.85 s for root here), which is most of a no-change `up`. A host counts as unchanged only when
 * the queen has the very hive we left there joined (same name, same pid, with bees) and the files,
 * the setup commands and the SSH target we would send now hash as they did then. Anything else
 * (another pid: restarted or replaced by another keeper; a new build; a new queen port or token; a
 * changed cluster.yaml) takes the full path over SSH, which records the host anew.
 */
export interface HostState extends MadeHost {
  /** user@address:port, install_dir and home as written: another target is another host. */
  target: string;
  setupHash: string;
  hivePid: number;
}

interface StateFile {
  version: 1;
  hosts: Record<string, HostState>;
}

const stateFile = (cluster: string) => path.join(apiaryHome(), 'clusters', `${cluster}.hosts.json`);

const targetOf = (h: HostSpec) => `${h.user}@${h.address}:${h.port} ${h.installDir} ${h.home}`;
const setupHashOf = (job: ClusterJob) => createHash('sha256').update(JSON.stringify(job.setupCommands)).digest('hex');

function read(cluster: string): StateFile {
  try {
    const s = JSON.parse(readFileSync(stateFile(cluster), 'utf8')) as StateFile;
    if (s.version === 1 && s.hosts && typeof s.hosts === 'object') return s;
  } catch {
    // none yet, or unreadable: every host takes the full path
  }
  return { version: 1, hosts: {} };
}

function write(cluster: string, s: StateFile): void {
  const f = stateFile(cluster);
  mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
  const tmp = `${f}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, f);
}

/**
 * Record what `up` left on each host (`made`: hosts that came up with a running hive) and forget
 * the hosts that failed (`failed`), so they take the full path next time.
 */
export function recordHosts(cluster: string, job: ClusterJob, made: { host: HostSpec; made: MadeHost }[], failed: string[]): void {
  const s = read(cluster);
  for (const name of failed) delete s.hosts[name];
  for (const { host, made: m } of made) {
    if (m.hivePid === null) delete s.hosts[host.name];
    else s.hosts[host.name] = { ...m, hivePid: m.hivePid, target: targetOf(host), setupHash: setupHashOf(job) };
  }
  write(cluster, s);
}

/** `cluster down` stopped these hosts: nothing of ours runs there any more. */
export function forgetHosts(cluster: string, names: string[]): void {
  const s = read(cluster);
  if (!names.some((n) => n in s.hosts)) return;
  for (const n of names) delete s.hosts[n];
  if (Object.keys(s.hosts).length === 0) rmSync(stateFile(cluster), { force: true });
  else write(cluster, s);
}

/**
 * The pid of the hive still serving `h` when nothing would change there, else null. `hives`: the
 * queen's connected hives (GET /v1/colony), fetched once for all hosts.
 */
export async function unchangedHive(
  cluster: string,
  h: HostSpec,
  job: ClusterJob,
  hives: readonly { resources: HiveResources; bees: readonly unknown[] }[],
): Promise<number | null> {
  const rec = read(cluster).hosts[h.name];
  if (!rec || rec.target !== targetOf(h) || rec.setupHash !== setupHashOf(job)) return null;
  const live = hives.find((x) => x.resources.name === h.name && x.resources.pid === rec.hivePid && x.bees.length > 0);
  if (!live) return null;
  const layout = { installDir: expandHome(h.installDir, rec.userHome), home: expandHome(h.home, rec.userHome) };
  const w = await wantedFor(h, job, layout, { platform: rec.platform, arch: rec.arch, home: rec.userHome });
  return w.archive.hash === rec.installHash && w.host.hash === rec.hostFilesHash ? rec.hivePid : null;
}
