import type { ClientChannel } from 'ssh2';
import { ApiaryError } from '@apiary/protocol';
import { remoteCommand, shellQuote } from '@apiary/config';
import type { Ssh } from './ssh.js';

/** Where a hive's files sit on its host (paths already ~-expanded). */
export interface RemoteLayout {
  installDir: string;
  home: string;
}

export const remotePaths = (l: RemoteLayout) => ({
  hive: `${l.installDir}/hive.mjs`,
  config: `${l.home}/hive-config.json`,
  token: `${l.home}/join.token`,
  pid: `${l.home}/hive.pid`,
  log: `${l.home}/hive.log`,
  cache: `${l.home}/cache`,
});

function hiveArgv(l: RemoteLayout, extra: string[] = []): string[] {
  const p = remotePaths(l);
  return ['node', p.hive, '--config', p.config, '--token-file', p.token, ...extra];
}

/** The pid of our running hive on the host, if any (pidfile checked against the process's command line). */
export async function runningHivePid(ssh: Ssh, l: RemoteLayout): Promise<number | null> {
  const p = remotePaths(l);
  const r = await ssh.exec(
    `pid=$(cat ${shellQuote(p.pid)} 2>/dev/null) && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF ${shellQuote(p.hive)} && echo $pid`,
    { timeoutMs: 15_000 },
  );
  const pid = Number(r.stdout.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * A persistent hive: detached from the SSH session (setsid, nohup), with a pidfile and a log file,
 * so it outlives this connection and reconnects to the queen on its own.
 */
export async function startDetached(ssh: Ssh, l: RemoteLayout): Promise<number> {
  const p = remotePaths(l);
  // The braces keep `&` to the hive alone: a backgrounded `cd && …` list would be a subshell holding
  // the SSH channel's pipes open (the exec would never return) and `$!` would name that subshell.
  const cmd =
    `cd ${shellQuote(l.installDir)} && { APIARY_HOME=${shellQuote(l.home)} setsid nohup ${remoteCommand(hiveArgv(l))} ` +
    `>> ${shellQuote(p.log)} 2>&1 < /dev/null & echo $! > ${shellQuote(p.pid)}; } && cat ${shellQuote(p.pid)}`;
  const r = await ssh.exec(cmd, { timeoutMs: 15_000 });
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0)
    throw new ApiaryError('SETUP_FAILED', `${ssh.target.name}: could not start the hive: ${r.stderr.trim() || r.stdout.trim()}`);
  return pid;
}

/** An ephemeral hive attached to an SSH channel: when the channel closes, its stdin ends and it exits. */
export function startAttached(ssh: Ssh, l: RemoteLayout): Promise<ClientChannel> {
  const cmd = `cd ${shellQuote(l.installDir)} && APIARY_HOME=${shellQuote(l.home)} exec ${remoteCommand(hiveArgv(l, ['--ephemeral', '--exit-with-stdin']))}`;
  return ssh.spawn(cmd);
}

/** Stop our hive on the host by its pidfile: SIGTERM, wait up to graceMs, then SIGKILL its group. */
export async function stopByPidfile(ssh: Ssh, l: RemoteLayout, graceMs: number): Promise<void> {
  const pid = await runningHivePid(ssh, l);
  if (pid === null) return;
  const secs = Math.max(1, Math.ceil(graceMs / 1000) + 1);
  await ssh.exec(
    `kill -TERM ${pid} 2>/dev/null; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt ${secs * 10} ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -- -${pid} 2>/dev/null; kill -KILL ${pid} 2>/dev/null; rm -f ${shellQuote(remotePaths(l).pid)}; true`,
    { timeoutMs: graceMs + 15_000 },
  );
}

/**
 * A pgrep pattern for "started from this install dir" that does not match the shell running the
 * pgrep itself: the first character goes in a bracket class, so the pattern's own text differs.
 */
function ownPattern(installDir: string): string {
  const escaped = `${installDir}/`.replace(/[.+]/g, '\\$&');
  return `[${escaped[0]}]${escaped.slice(1)}`;
}

/** Pids of any process of ours on the host: a hive or bee started from this install dir. */
export async function ourProcesses(ssh: Ssh, l: RemoteLayout): Promise<number[]> {
  const r = await ssh.exec(`pgrep -f -- ${shellQuote(ownPattern(l.installDir))} || true`, { timeoutMs: 15_000 });
  return r.stdout
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Last resort after a stop: SIGKILL each of our processes by pid. */
export async function killOurProcesses(ssh: Ssh, l: RemoteLayout): Promise<void> {
  const pids = await ourProcesses(ssh, l);
  if (pids.length > 0) await ssh.exec(`kill -KILL ${pids.join(' ')} 2>/dev/null; true`, { timeoutMs: 15_000 });
}

export async function tailLog(ssh: Ssh, l: RemoteLayout, lines = 15): Promise<string> {
  return (await ssh.exec(`tail -n ${lines} ${shellQuote(remotePaths(l).log)} 2>/dev/null`, { timeoutMs: 15_000 })).stdout;
}
