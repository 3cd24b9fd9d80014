import { argsOf, HIVE_FLAGS, toJson, type HiveOptions } from '@apiary/config';
import { ApiaryError, toWireError, type WireError } from '@apiary/protocol';
import type { ClientChannel } from 'ssh2';
import type { QueenClient } from '../client.js';
import { hostPart, installArchive, type HostPart, type InstallArchive } from './archive.js';
import { InstallError, installAndStart, type InstallPlan } from './install.js';
import { installSet, nodeArch, type InstallFile } from './install-set.js';
import { expandHome, preflight, type HostFacts } from './preflight.js';
import { remotePaths, startAttached, tailLog, type RemoteLayout } from './remote-hive.js';
import { runSetupCommands } from './setup-commands.js';
import { Ssh, type SshTarget } from './ssh.js';

/** One host as `cluster up` needs it (resolved from cluster.yaml). */
export interface HostSpec extends SshTarget {
  installDir: string;
  home: string;
  bees?: number;
  memoryPerBeeBytes?: number;
  /** The queen's WebSocket URL as this host reaches it. */
  queenWs: string;
}

export interface ClusterJob {
  setupCommands: readonly string[];
  fileMounts: readonly { local: string; remote: string }[];
  /** heartbeat_ms is the queen's to set (its welcome tells every hive), so it is not passed on. */
  hive: { taskTimeoutMs?: number; graceMs?: number; memoryPollMs?: number; reserveMemoryBytes?: number };
  joinToken: string;
  /** The queen's TLS certificate (SHA-256) when it serves wss: written beside the join token, pinned by the hive. */
  queenFingerprint?: string;
  /** persistent: detached with pidfile and log; attached: ends with the SSH channel (ephemeral runs). */
  mode: 'persistent' | 'attached';
  acceptNewHostKeys: boolean;
  joinTimeoutMs: number;
}

export type Step = 'connect' | 'preflight' | 'setup' | 'upload' | 'start' | 'join';
export const STEPS: readonly Step[] = ['connect', 'preflight', 'setup', 'upload', 'start', 'join'];
export type StepEvent = { host: string; step: Step; state: 'run' | 'ok' | 'fail'; detail?: string };

export interface HostUp {
  host: HostSpec;
  ssh: Ssh;
  layout: RemoteLayout;
  channel: ClientChannel | null;
  /** What the host has now, as a later no-change `up` compares it (see host-state.ts). */
  made: MadeHost;
}

/** The facts and hashes a host was left with; `hivePid`: its running hive (persistent mode). */
export interface MadeHost {
  platform: string;
  arch: string;
  userHome: string;
  installHash: string;
  hostFilesHash: string;
  hivePid: number | null;
}

export type HostOutcome = { ok: true; up: HostUp } | { ok: false; host: HostSpec; step: Step; error: WireError };

/** Bring one host up, step by step; every failure names the host, the step and the fix. */
export async function provisionHost(h: HostSpec, job: ClusterJob, queen: QueenClient, emit: (e: StepEvent) => void): Promise<HostOutcome> {
  let step: Step = 'connect';
  let ssh: Ssh | null = null;
  const run = async <T>(s: Step, f: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    step = s;
    emit({ host: h.name, step: s, state: 'run' });
    const v = await f();
    emit({ host: h.name, step: s, state: 'ok', detail: detail?.(v) });
    return v;
  };
  try {
    ssh = await run('connect', () => Ssh.connect(h, { acceptNewHostKeys: job.acceptNewHostKeys }));
    const s = ssh;
    // One connection, one exec per phase: preflight (facts, recorded hashes, running hive), the
    // setup commands if any, then stop + unpack + start only when something changed.
    const facts = await run(
      'preflight',
      () =>
        preflight(
          s,
          h,
          job.fileMounts.map((m) => m.remote),
        ),
      (f) => `node ${f.node}, ${f.arch}, ${f.cores} cores`,
    );
    const layout: RemoteLayout = { installDir: expandHome(h.installDir, facts.home), home: expandHome(h.home, facts.home) };
    await run(
      'setup',
      () => runSetupCommands(s, job.setupCommands).then(() => job.setupCommands.length),
      (n) => `${n} command(s)`,
    );
    let pid: number | null = null;
    let wanted: Wanted | null = null;
    const sent = await run(
      'upload',
      async () => {
        wanted = await wantedFor(h, job, layout, facts);
        const plan = planFor(job, facts, wanted);
        if (!plan.host && !plan.start) return null;
        const res = await installAndStart(s, layout, plan);
        pid = res.pid;
        return res;
      },
      (r) => (r && r.files > 0 ? `${r.files} file(s) changed, ${(r.bytes / 1048576).toFixed(1)} MiB sent` : 'nothing changed'),
    );
    const channel = await run(
      'start',
      async () => (job.mode === 'attached' ? startAttached(s, layout) : null),
      (c) => (c ? 'attached to this session' : pid ? `started, pid ${pid}` : sent === null ? `already running, pid ${facts.hivePid}` : 'detached'),
    );
    await run('join', () => waitForJoin(queen, h.name, job.joinTimeoutMs, async () => (channel ? '' : await tailLog(s, layout))));
    const w = wanted as Wanted | null;
    const made: MadeHost = {
      platform: facts.platform,
      arch: facts.arch,
      userHome: facts.home,
      installHash: w?.archive.hash ?? '',
      hostFilesHash: w?.host.hash ?? '',
      hivePid: pid ?? (sent === null ? facts.hivePid : null),
    };
    return { ok: true, up: { host: h, ssh: s, layout, channel, made } };
  } catch (e) {
    ssh?.close();
    if (e instanceof InstallError) step = e.step;
    const error = toWireError(e, 'SETUP_FAILED');
    emit({ host: h.name, step, state: 'fail', detail: `${error.code}: ${error.message}` });
    return { ok: false, host: h, step, error };
  }
}

/**
 * What this host needs: the install archive when its recorded hash differs, its own files when
 * they changed (always with the archive: their part ends the tar), and for a persistent hive a
 * restart when anything changed (a start when none runs). Idempotent: a running hive with
 * unchanged files is left alone.
 */
function planFor(job: ClusterJob, facts: HostFacts, { archive, host }: Wanted): InstallPlan {
  const needArchive = archive.hash !== facts.installedHash;
  const needHost = needArchive || host.hash !== facts.hostFilesHash;
  const running = facts.hivePid !== null;
  const persistent = job.mode === 'persistent';
  return {
    archive: needArchive ? archive : null,
    host: needHost ? host : null,
    stop: persistent && running && needHost,
    start: persistent && (!running || needHost),
    graceMs: job.hive.graceMs ?? 5000,
  };
}

export interface Wanted {
  archive: InstallArchive;
  host: HostPart;
}

/** The install archive and this host's own part for its platform, arch and home: what its recorded hashes are checked against. */
export async function wantedFor(h: HostSpec, job: ClusterJob, l: RemoteLayout, f: Pick<HostFacts, 'platform' | 'arch' | 'home'>): Promise<Wanted> {
  const install = await installSet(l.installDir, f.platform, nodeArch(f.arch));
  const [archive, host] = await Promise.all([installArchive(l.installDir, install, f.platform, nodeArch(f.arch)), hostPart(hostFiles(h, job, l, f.home))]);
  return { archive, host };
}

/** This host's own files: file mounts (~/ is the SSH user's home), the hive's config and join token. */
function hostFiles(h: HostSpec, job: ClusterJob, l: RemoteLayout, userHome: string): InstallFile[] {
  const p = remotePaths(l);
  // apiary-hive's --config file: its options keyed by flag, through the hive's own flag table.
  const hiveConfig = toJson(
    HIVE_FLAGS,
    argsOf(HIVE_FLAGS, {
      queenUrl: h.queenWs,
      name: h.name,
      cacheDir: p.cache,
      bees: h.bees,
      memoryPerBee: h.memoryPerBeeBytes,
      taskTimeout: job.hive.taskTimeoutMs,
      graceMs: job.hive.graceMs,
      memoryPollMs: job.hive.memoryPollMs,
      reserveMemory: job.hive.reserveMemoryBytes,
      queenFingerprint: job.queenFingerprint,
    } satisfies Partial<HiveOptions>),
  );
  return [
    ...job.fileMounts.map((m) => ({ local: m.local, remote: expandHome(m.remote, userHome), mode: 0o644 })),
    { remote: p.config, content: JSON.stringify(hiveConfig, null, 2) + '\n', mode: 0o600 },
    // The join token travels inside the archive on the exec's stdin into a 0600 file: never argv, never a log.
    { remote: p.token, content: job.joinToken + '\n', mode: 0o600 },
  ];
}

async function waitForJoin(queen: QueenClient, name: string, timeoutMs: number, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const c = await queen.colony().catch(() => null);
    if (c?.hives.some((x) => x.resources.name === name && x.bees.length > 0)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = await log().catch(() => '');
  throw new ApiaryError(
    'HIVE_JOIN_TIMEOUT',
    `${name}: the hive started but did not join the queen within ${timeoutMs} ms: can the host reach the queen's address? ${tail ? `\nlast lines of its log:\n${tail}` : ''}`,
  );
}
