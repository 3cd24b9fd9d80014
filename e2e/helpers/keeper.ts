import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { parseStat } from '@apiary/runtime';
import { KEEPER_BIN } from './colony.js';

/** Run the keeper CLI as a user would, with its own APIARY_HOME; never throws on a non-zero exit. */
export function keeper(
  args: string[],
  home: string,
  opts: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {},
): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa(process.execPath, [KEEPER_BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 60_000,
    env: { APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn', ...opts.env },
  }) as ResultPromise<{ reject: false; stdin: 'ignore' }>;
}

export type Role = 'keeper' | 'queen' | 'hive' | 'bee' | 'other';

/** What a process of a colony is, from its command line (bundled entry scripts name their role). */
export function roleOf(pid: number): Role {
  let cmd: string;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'other';
  }
  for (const role of ['keeper', 'queen', 'hive', 'bee'] as const) if (new RegExp(`[/]${role}(\\.bundle\\.mjs|\\.js)\\0`).test(cmd)) return role;
  return 'other';
}

/** User + system CPU time of a process in ms (from /proc/PID/stat); 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), 4096, 100)?.cpuMs ?? 0;
  } catch {
    return 0;
  }
}

/** Every stderr line of a running keeper so far (the result keeps them too, once it ends). */
export function stderrOf(run: ResultPromise): string[] {
  const lines: string[] = [];
  let partial = '';
  run.stderr?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  return lines;
}
