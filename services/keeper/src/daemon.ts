import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { daemonPaths, readDaemonState, type DaemonPaths, type DaemonState } from '@apiary/config';
import { QUEEN_MAIN } from '@apiary/queen/entry';
import { ApiaryError } from '@apiary/protocol';
import { isAlive, killTree, waitUntil } from '@apiary/runtime';

const START_TIMEOUT_MS = 20_000;

/** Arguments for a daemon queen from keeper flags (validated already). */
export function queenArgs(o: {
  host?: string;
  port?: number;
  bees?: number;
  memoryPerBeeBytes?: number;
  timeoutMs?: number;
  graceMs?: number;
  noLocalHive?: boolean;
  /** TLS (a queen bound beyond loopback): the user's PEM files, and the addresses hives dial for its certificate. */
  tlsCert?: string;
  tlsKey?: string;
  tlsNames?: readonly string[];
}): string[] {
  const a = [QUEEN_MAIN];
  if (o.host) a.push('--host', o.host);
  if (o.port !== undefined) a.push('--port', String(o.port));
  if (o.bees !== undefined) a.push('--bees', String(o.bees));
  if (o.memoryPerBeeBytes !== undefined) a.push('--memory-per-bee', String(o.memoryPerBeeBytes));
  if (o.timeoutMs !== undefined) a.push('--timeout', `${o.timeoutMs}ms`);
  if (o.graceMs !== undefined) a.push('--grace', String(o.graceMs));
  if (o.noLocalHive) a.push('--no-local-hive');
  if (o.tlsCert) a.push('--tls-cert', o.tlsCert);
  if (o.tlsKey) a.push('--tls-key', o.tlsKey);
  for (const n of o.tlsNames ?? []) a.push('--tls-name', n);
  return a;
}

/**
 * Start the daemon detached: its own session, writing its log file itself (--log-file: rotated,
 * its local hive's hive.log beside it). Its raw stderr is appended to the same file too (stdout,
 * the ready line, is not needed: the state file says it is up), so what Node prints before the logger exists (a bad flag, a crash) lands where the keeper
 * looks. Resolves once it has written its state file (it is listening), or fails with the end of its log.
 */
export async function startDetached(args: string[], p: DaemonPaths = daemonPaths()): Promise<DaemonState> {
  mkdirSync(path.dirname(p.logFile), { recursive: true, mode: 0o700 });
  const log = openSync(p.logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...args, '--log-file', p.logFile], { detached: true, stdio: ['ignore', 'ignore', log], env: process.env });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new ApiaryError('QUEEN_START_FAILED', 'could not start the queen process');
  let state: DaemonState | null = null;
  await waitUntil(
    () => {
      state = readDaemonState(p);
      return (state !== null && state.pid === pid) || !isAlive(pid);
    },
    START_TIMEOUT_MS,
    50,
  );
  if (state && (state as DaemonState).pid === pid) return state;
  if (isAlive(pid)) killTree(pid, 'SIGKILL');
  throw new ApiaryError('QUEEN_START_FAILED', `the queen did not start; the end of ${p.logFile}:\n${tail(p.logFile, 12)}`);
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
