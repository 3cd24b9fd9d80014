import { execa, type ResultPromise } from 'execa';
import { KEEPER_BIN } from './colony.js';

/** Run the keeper CLI as a user would, with its own APIARY_HOME; never throws on a non-zero exit. */
export function keeper(args: string[], home: string, opts: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa(process.execPath, [KEEPER_BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 60_000,
    env: { APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn', ...opts.env },
  }) as ResultPromise<{ reject: false; stdin: 'ignore' }>;
}
