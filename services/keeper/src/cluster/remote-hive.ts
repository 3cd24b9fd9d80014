import type { ClientChannel } from 'ssh2';
import { MALLOC_ENV } from '@apiary/runtime';
import { remoteCommand, shellQuote } from './shell.js';
import type { Ssh } from './ssh.js';

/** Where a hive's files sit on its host (paths already ~-expanded). */
export interface RemoteLayout {
  installDir: string;
  home: string;
}

/** File names under the install dir (hive, installHash) and under the hive's home (the rest). */
export const NAMES = {
  hive: 'hive.mjs',
  installHash: '.apiary-install.sha256',
  config: 'hive-config.json',
  token: 'join.token',
  pid: 'hive.pid',
  log: 'hive.log',
  cache: 'cache',
  hostHash: '.apiary-host.sha256',
} as const;

export const remotePaths = (l: RemoteLayout) => ({
  hive: `${l.installDir}/${NAMES.hive}`,
  installHash: `${l.installDir}/${NAMES.installHash}`,
  config: `${l.home}/${NAMES.config}`,
  token: `${l.home}/${NAMES.token}`,
  pid: `${l.home}/${NAMES.pid}`,
  log: `${l.home}/${NAMES.log}`,
  cache: `${l.home}/${NAMES.cache}`,
  hostHash: `${l.home}/${NAMES.hostHash}`,
});

/**
 * Shell assignments of runtime's malloc defaults (malloc-env.ts), each unless the host's own
 * environment sets it: glibc reads them at exec, so they go before the hive's command, as the
 * queen and the hive put them in the env of what they spawn.
 */
export function mallocEnvWords(): string {
  // Names and values are our own constants (MALLOC_ARENA_MAX, 2): plain words, nothing to quote.
  return Object.entries(MALLOC_ENV)
    .map(([k, v]) => `${k}="\${${k}:-${v}}"`)
    .join(' ');
}

function hiveArgv(l: RemoteLayout, extra: string[] = []): string[] {
  const p = remotePaths(l);
  return ['node', p.hive, '--config', p.config, '--token-file', p.token, ...extra];
}

/**
 * Shell: print our hive's pid if the pidfile names a live process started from this hive file.
 * Both arguments are shell words (quoted paths, or "$H/..." in a script that set H).
 */
export function pidOfHive(pidWord: string, hiveWord: string): string {
  return `pid=$(cat ${pidWord} 2>/dev/null) && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF ${hiveWord} && echo $pid`;
}

/**
 * Shell: start a persistent hive detached from the SSH session (setsid, nohup), so it outlives
 * this connection and reconnects to the queen on its own; write its pidfile, print its pid. The
 * hive writes hive.log itself (--log-file: rotated at 10 MiB, 3 files); the shell's append catches
 * what Node prints raw.
 */
export function startDetachedScript(l: RemoteLayout): string {
  const p = remotePaths(l);
  // The braces keep `&` to the hive alone: a backgrounded `cd && …` list would be a subshell holding
  // the SSH channel's pipes open (the exec would never return) and `$!` would name that subshell.
  return (
    `cd ${shellQuote(l.installDir)} && { ${mallocEnvWords()} APIARY_HOME=${shellQuote(l.home)} setsid nohup ${remoteCommand(hiveArgv(l, ['--log-file', p.log]))} ` +
    `>> ${shellQuote(p.log)} 2>&1 < /dev/null & echo $! > ${shellQuote(p.pid)}; } && cat ${shellQuote(p.pid)}`
  );
}

/** An ephemeral hive attached to an SSH channel: when the channel closes, its stdin ends and it exits. */
export function startAttached(ssh: Ssh, l: RemoteLayout): Promise<ClientChannel> {
  return ssh.spawn(attachedCommand(l));
}

/** Shell: the ephemeral hive's command line (startAttached). */
export function attachedCommand(l: RemoteLayout): string {
  return `cd ${shellQuote(l.installDir)} && ${mallocEnvWords()} APIARY_HOME=${shellQuote(l.home)} exec ${remoteCommand(hiveArgv(l, ['--ephemeral', '--exit-with-stdin']))}`;
}

/** Shell: stop our hive by its pidfile (SIGTERM, up to graceMs, then SIGKILL its group); no hive, no-op. */
export function stopScript(l: RemoteLayout, graceMs: number): string {
  const p = remotePaths(l);
  const ticks = Math.max(1, Math.ceil(graceMs / 1000) + 1) * 10;
  return (
    `if hp=$(${pidOfHive(shellQuote(p.pid), shellQuote(p.hive))}); then kill -TERM $hp 2>/dev/null; i=0; ` +
    `while kill -0 $hp 2>/dev/null && [ $i -lt ${ticks} ]; do sleep 0.1; i=$((i+1)); done; ` +
    `kill -KILL -- -$hp 2>/dev/null; kill -KILL $hp 2>/dev/null; rm -f ${shellQuote(p.pid)}; fi; true`
  );
}

/**
 * A pgrep pattern for "started from this install dir" that does not match the shell running the
 * pgrep itself: the first character goes in a bracket class, so the pattern's own text differs.
 */
export function ownPattern(installDir: string): string {
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
