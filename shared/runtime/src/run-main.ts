import type { Logger } from './logger.js';

/**
 * The one way a process (apiary-queen, apiary-hive) ends: `main`'s code, or for a thrown error
 * "CODE: message" in its log and an exit code a shell can use:
 *   2  USAGE (an unknown flag, a malformed value, a missing required flag: the usage line follows)
 *      or CONFIG_INVALID (values out of bounds, unreadable config files);
 *   1  anything else (reported as INTERNAL when it carries no code).
 * A second shutdown signal exits 130/143/129 (signals.ts). specs/errors.md lists these per process.
 */
export const MAIN_EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export interface MainOptions {
  /** `apiary-queen`: prefixes usage errors. */
  name: string;
  /** The flags line printed after a usage error. */
  usage: string;
  /** The process's logger at the time of the error (it may have moved to a file once options were read). */
  log: () => Logger;
}

/** The code of an ApiaryError (by name: runtime does not depend on protocol), else null. */
function codeOf(e: unknown): string | null {
  if (!(e instanceof Error) || e.name !== 'ApiaryError') return null;
  const code = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

export function exitCodeForError(e: unknown): number {
  const code = codeOf(e);
  return code === 'USAGE' || code === 'CONFIG_INVALID' ? MAIN_EXIT.USAGE : MAIN_EXIT.FAILED;
}

export function runMain(main: () => Promise<number>, o: MainOptions): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      const code = codeOf(e) ?? 'INTERNAL';
      const msg = e instanceof Error ? e.message : String(e);
      const prefixed = code === 'USAGE' && !msg.startsWith(`${o.name}:`) ? `${o.name}: ${msg}` : msg;
      o.log().error(`${code}: ${prefixed}`);
      if (code === 'USAGE') process.stderr.write(`usage: ${o.name} ${o.usage}\n`);
      process.exit(exitCodeForError(e));
    },
  );
}
