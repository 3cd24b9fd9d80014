import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ApiaryError } from '@apiary/protocol';
import { shellQuote } from './shell.js';
import { STAGING, type HostPart, type InstallArchive } from './archive.js';
import { remotePaths, startDetachedScript, stopScript, type RemoteLayout } from './remote-hive.js';
import type { Ssh } from './ssh.js';

/** What one host needs, decided from its preflight (recorded hashes, running hive). */
export interface InstallPlan {
  /** The install set's layers, when the host's recorded hash differs; null: up to date. */
  archive: InstallArchive | null;
  /** This host's files (config, token, mounts), when changed, or always with an archive (it ends the tar). */
  host: HostPart | null;
  /** Stop a running hive first (its files change). */
  stop: boolean;
  /** Start a detached hive at the end. */
  start: boolean;
  graceMs: number;
}

export interface InstallResult {
  /** Files written on the host (0 when nothing was sent). */
  files: number;
  bytes: number;
  /** The started hive's pid, when the plan started one. */
  pid: number | null;
}

const UPLOAD_FAILED = 10;
const START_FAILED = 11;

/** The stream the host's `tar` reads: each cached layer, then this host's part (which ends the tar). */
function archiveStream(plan: InstallPlan): Readable {
  const files = plan.archive?.layers.map((l) => l.file) ?? [];
  const tail = plan.host!.gz;
  return Readable.from(
    (async function* () {
      for (const f of files) yield* createReadStream(f);
      yield tail;
    })(),
  );
}

/** The remote script: stop, unpack, record the hashes, start; exit 10 (upload) or 11 (start) on failure. */
export function installScript(l: RemoteLayout, plan: InstallPlan): string {
  const p = remotePaths(l);
  const D = shellQuote(l.installDir);
  const fail = (code: number, what: string) => `{ echo ${shellQuote(what)} >&2; exit ${code}; }`;
  const lines: string[] = [];
  if (plan.stop) lines.push(stopScript(l, plan.graceMs));
  if (plan.host) {
    lines.push(`mkdir -p ${D} ${shellQuote(l.home)} || ${fail(UPLOAD_FAILED, `cannot create ${l.installDir} or ${l.home}`)}`);
    lines.push(`tar -xzf - -C ${D} || ${fail(UPLOAD_FAILED, 'tar could not unpack the install archive')}`);
    for (const t of plan.host.targets) {
      lines.push(
        `mkdir -p ${shellQuote(path.posix.dirname(t.remote))} && mv -f ${shellQuote(`${l.installDir}/${t.staged}`)} ${shellQuote(t.remote)} || ${fail(UPLOAD_FAILED, `cannot put ${t.remote} in place`)}`,
      );
    }
    lines.push(`rmdir ${shellQuote(`${l.installDir}/${STAGING}`)} 2>/dev/null`);
    // Recorded last: a hash on the host means everything it stands for was unpacked.
    if (plan.archive)
      lines.push(`printf '%s\\n' ${plan.archive.hash} > ${shellQuote(p.installHash)} || ${fail(UPLOAD_FAILED, 'cannot record the install hash')}`);
    lines.push(`printf '%s\\n' ${plan.host.hash} > ${shellQuote(p.hostHash)} || ${fail(UPLOAD_FAILED, 'cannot record the host files hash')}`);
  }
  lines.push('echo @@unpacked');
  if (plan.start) lines.push(`printf '@@started '; ${startDetachedScript(l)} || ${fail(START_FAILED, 'could not start the hive')}`);
  return lines.join('\n');
}

/**
 * Stop, unpack, start: ONE exec on the host, its stdin the archive (when anything changed). A
 * failure is SETUP_FAILED for its step: `upload` before the unpack finished, `start` after.
 */
export async function installAndStart(ssh: Ssh, l: RemoteLayout, plan: InstallPlan): Promise<InstallResult> {
  const send = plan.host !== null;
  const r = await ssh.exec(installScript(l, plan), { timeoutMs: 600_000, ...(send ? { stdin: archiveStream(plan) } : {}) });
  const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' / ');
  if (!r.stdout.includes('@@unpacked'))
    throw new InstallError('upload', `${ssh.target.name}: upload failed (exit ${r.code ?? r.signal ?? 'connection lost'}): ${why}`);
  const files = (plan.archive?.files ?? 0) + (plan.host?.targets.length ?? 0);
  const bytes = (plan.archive?.bytes ?? 0) + (plan.host?.gz.length ?? 0);
  if (!plan.start) return { files, bytes, pid: null };
  const pid = Number(/@@started (\d+)/.exec(r.stdout)?.[1]);
  if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0) throw new InstallError('start', `${ssh.target.name}: could not start the hive: ${why}`);
  return { files, bytes, pid };
}

/** SETUP_FAILED that knows which step of `cluster up` it belongs to. */
export class InstallError extends ApiaryError {
  constructor(
    readonly step: 'upload' | 'start',
    message: string,
  ) {
    super('SETUP_FAILED', message);
  }
}
