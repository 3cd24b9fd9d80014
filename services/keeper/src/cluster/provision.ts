import { ApiaryError, toWireError, type WireError } from '@apiary/protocol';
import type { ClientChannel } from 'ssh2';
import type { QueenClient } from '../client.js';
import { installSet, nodeArch, type InstallFile } from './install-set.js';
import { expandHome, preflight } from './preflight.js';
import { remotePaths, runningHivePid, startAttached, startDetached, stopByPidfile, tailLog, type RemoteLayout } from './remote-hive.js';
import { syncFiles } from './remote-fs.js';
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
    const facts = await run(
      'preflight',
      () => preflight(s, h.installDir),
      (f) => `node ${f.node}, ${f.arch}, ${f.cores} cores`,
    );
    const layout: RemoteLayout = { installDir: expandHome(h.installDir, facts.home), home: expandHome(h.home, facts.home) };
    await run(
      'setup',
      async () => {
        for (const cmd of job.setupCommands) {
          const r = await s.exec(cmd, { timeoutMs: 600_000 });
          if (r.code !== 0)
            throw new ApiaryError(
              'SETUP_FAILED',
              `${h.name}: setup command \`${cmd}\` exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`,
            );
        }
        return job.setupCommands.length;
      },
      (n) => `${n} command(s)`,
    );
    const changed = await run(
      'upload',
      () => syncFiles(s, filesFor(h, job, layout, facts.platform, nodeArch(facts.arch))),
      (n) => `${n} file(s) changed`,
    );
    const channel = await run(
      'start',
      () => startHive(s, layout, job, changed > 0),
      (c) => (c ? 'attached to this session' : 'detached'),
    );
    await run('join', () => waitForJoin(queen, h.name, job.joinTimeoutMs, async () => (channel ? '' : await tailLog(s, layout))));
    return { ok: true, up: { host: h, ssh: s, layout, channel } };
  } catch (e) {
    ssh?.close();
    const error = toWireError(e, 'SETUP_FAILED');
    emit({ host: h.name, step, state: 'fail', detail: `${error.code}: ${error.message}` });
    return { ok: false, host: h, step, error };
  }
}

function filesFor(h: HostSpec, job: ClusterJob, l: RemoteLayout, platform: string, arch: string): InstallFile[] {
  const p = remotePaths(l);
  const hiveConfig = {
    queen: h.queenWs,
    name: h.name,
    'cache-dir': p.cache,
    ...(h.bees !== undefined ? { bees: h.bees } : {}),
    ...(h.memoryPerBeeBytes !== undefined ? { 'memory-per-bee': h.memoryPerBeeBytes } : {}),
    ...(job.hive.taskTimeoutMs !== undefined ? { timeout: `${job.hive.taskTimeoutMs}ms` } : {}),
    ...(job.hive.graceMs !== undefined ? { grace: job.hive.graceMs } : {}),
    ...(job.hive.memoryPollMs !== undefined ? { 'memory-poll': job.hive.memoryPollMs } : {}),
    ...(job.hive.reserveMemoryBytes !== undefined ? { 'reserve-memory': job.hive.reserveMemoryBytes } : {}),
  };
  return [
    ...installSet(l.installDir, platform, arch),
    ...job.fileMounts.map((m) => ({ local: m.local, remote: m.remote, mode: 0o644 })),
    { remote: p.config, content: JSON.stringify(hiveConfig, null, 2) + '\n', mode: 0o600 },
    // The join token travels inside the SFTP session into a 0600 file: never argv, never a log.
    { remote: p.token, content: job.joinToken + '\n', mode: 0o600 },
  ];
}

/** Idempotent start: a running hive with unchanged files is left alone; changed files mean a restart. */
async function startHive(ssh: Ssh, l: RemoteLayout, job: ClusterJob, changed: boolean): Promise<ClientChannel | null> {
  if (job.mode === 'attached') return startAttached(ssh, l);
  const pid = await runningHivePid(ssh, l);
  if (pid !== null && !changed) return null;
  if (pid !== null) await stopByPidfile(ssh, l, job.hive.graceMs ?? 5000);
  await startDetached(ssh, l);
  return null;
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
