import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { daemonPaths, QUEEN_FLAGS, readDaemonState, toArgv, type DaemonPaths, type DaemonState, type QueenArgs } from '@apiary/config';
import { QUEEN_MAIN } from '@apiary/queen/entry';
import { ApiaryError } from '@apiary/protocol';
import { isAlive, killTree, waitUntil, withMallocEnv } from '@apiary/runtime';

const START_TIMEOUT_MS = 20_000;

/** A daemon queen's argv from its flags (QUEEN_FLAGS, validated already): the entry script, then the flags. */
export function queenArgv(a: QueenArgs): string[] {
  return [QUEEN_MAIN, ...toArgv(QUEEN_FLAGS, a)];
}

/**
 * Start the daemon detached: its own session, writing its log file itself (--log-file: rotated,
 * its local hive's hive.log beside it). Its raw stderr is appended to the same file too (stdout,
 * the ready line, is not needed: the state file says it is up), so what Node prints before the logger exists (a bad flag, a crash) lands where the keeper
 * looks. Resolves once it has written its state file (it is listening), or fails with the end of its log.
 */
export async function startDaemon(args: string[], p: DaemonPaths = daemonPaths()): Promise<DaemonState> {
  mkdirSync(path.dirname(p.logFile), { recursive: true, mode: 0o700 });
  const log = openSync(p.logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...args, '--log-file', p.logFile], {
    detached: true,
    stdio: ['ignore', 'ignore', log],
    env: withMallocEnv(process.env),
  });
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
