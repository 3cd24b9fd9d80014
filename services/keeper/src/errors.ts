import { ApiaryError, ERRORS, isErrorCode, type WireError } from '@apiary/protocol';

/** Exit codes a shell can use. */
export const EXIT = {
  OK: 0,
  /** The task failed (its error code and message are printed). */
  TASK_FAILED: 1,
  /** The command line is wrong (usage is printed). */
  USAGE: 2,
  /** Ctrl-C (SIGINT); SIGTERM gives 143. */
  INTERRUPTED: 130,
} as const;

export class UsageError extends ApiaryError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A task that ended in failure, carrying its wire error for printing. */
export class TaskFailedError extends ApiaryError {
  constructor(readonly wire: WireError) {
    super(wire.code, wire.message, wire.details);
  }
}

/** The error table's keeper exit code (ERRORS[code].keeperExit: USAGE or TASK_FAILED); anything else is TASK_FAILED. */
export function exitCodeFor(e: unknown): number {
  return e instanceof ApiaryError && isErrorCode(e.code) ? ERRORS[e.code].keeperExit : EXIT.TASK_FAILED;
}
