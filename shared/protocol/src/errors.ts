/**
 * Stable error codes. They cross process boundaries as `{ code, message, ... }` and are part of
 * the public contract: clients and scripts match on them, so a code is never renamed or reused.
 */
export const ErrorCodes = {
  // Task outcomes
  SQL_ERROR: 'The SQL failed in DuckDB (syntax, binder or runtime error).',
  SQL_READ_ONLY: 'SQL over frames must be one read-only SELECT (no DDL, DML, COPY, ATTACH, SET).',
  RESULT_TOO_LARGE: 'The query result is over the size limit; narrow it, add LIMIT, or write it to a frame.',
  TASK_FAILED: 'A js task threw or rejected.',
  TASK_MODULE_NOT_FOUND: 'The js task module could not be loaded.',
  TASK_EXPORT_NOT_FOUND: 'The js task module has no such exported function.',
  TASK_RESULT_INVALID: 'The task result cannot be sent back (not structured-cloneable / JSON).',
  TASK_TIMEOUT: 'The task ran past its timeout; its bee was killed and replaced.',
  TASK_CANCELLED: 'The task was cancelled by a client or by shutdown.',
  TASK_ABANDONED: 'The task failed on every attempt and was abandoned.',
  TASK_NOT_FOUND: 'No task with that id.',
  BEE_MEMORY_EXCEEDED: "The task went over its bee's memory budget; the bee was killed and replaced.",
  BEE_CRASHED: 'The bee process died while running the task.',
  CELL_FETCH_FAILED: 'A remote hive could not fetch a cell (or a partial result) from the queen, or its checksum did not match.',
  // Cluster
  HIVE_LOST: 'The hive stopped answering (connection closed or heartbeats missed).',
  NO_HIVES: 'No hive is connected to run the task.',
  HIVE_NOT_FOUND: 'No hive of that id or name is connected.',
  AUTH_FAILED: 'Missing or wrong token.',
  QUEEN_DRAINING: 'The queen is shutting down and takes no new work.',
  QUEEN_UNREACHABLE: 'The queen cannot be reached.',
  QUEEN_START_FAILED: 'The queen process did not start.',
  COLONY_CRITICAL: 'The colony is overloaded; retry later.',
  COLONY_HOT: 'The colony stayed hot for as long as a write may wait; retry the write later.',
  // SSH cluster (per host)
  HOST_UNREACHABLE: 'The host did not answer on its SSH port.',
  SSH_AUTH_FAILED: 'The host refused our SSH key.',
  HOST_KEY_UNKNOWN: "The host's SSH key is not in known_hosts.",
  HOST_KEY_MISMATCH: "The host's SSH key differs from the one in known_hosts.",
  PREFLIGHT_FAILED: 'The host lacks something a hive needs (node >= 20, disk, write access).',
  SETUP_FAILED: 'A setup command or an upload failed on the host.',
  HIVE_JOIN_TIMEOUT: 'The hive started but did not join the queen in time.',
  REMOTE_COMMAND_FAILED: 'A command run over SSH failed.',
  // Frames
  FRAME_NAME_INVALID: 'A frame name must match ^[a-z_][a-z0-9_]{0,62}$.',
  FRAME_NOT_FOUND: 'No frame with that name.',
  FRAME_SCHEMA_MISMATCH: "The data's columns differ from the frame's (or between the write's input files).",
  INPUT_NOT_FOUND: 'The input path or glob of a write matches no file.',
  // Input
  BAD_REQUEST: 'The request or message does not match its schema.',
  PAYLOAD_TOO_LARGE: 'The request body is over the size limit.',
  CONFIG_INVALID: 'An option or configuration value is invalid.',
  USAGE: 'The command line is invalid.',
  INTERNAL: 'An unexpected internal error.',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** What an error looks like on the wire (HTTP bodies, WebSocket and IPC messages). */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** Optional structured details (e.g. rss and budget for BEE_MEMORY_EXCEEDED). */
  details?: Record<string, unknown>;
}

export class ApiaryError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiaryError';
    this.code = code;
    this.details = details;
  }

  toWire(): WireError {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }

  static fromWire(w: WireError): ApiaryError {
    return new ApiaryError(w.code, w.message, w.details);
  }
}

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.hasOwn(ErrorCodes, v);
}

/** Any thrown value → WireError; unknown errors become INTERNAL so nothing crosses untyped. */
export function toWireError(err: unknown, fallback: ErrorCode = 'INTERNAL'): WireError {
  if (err instanceof ApiaryError) return err.toWire();
  if (err && typeof err === 'object' && isErrorCode((err as { code?: unknown }).code)) {
    const e = err as { code: ErrorCode; message?: unknown };
    return { code: e.code, message: String(e.message ?? e.code) };
  }
  const m = err && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
  const message = err instanceof Error ? err.message : typeof m === 'string' ? m : String(err);
  return { code: fallback, message };
}

/** Codes caused by the colony rather than by the task itself: worth another attempt. */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BEE_MEMORY_EXCEEDED',
  'TASK_TIMEOUT',
  'HIVE_LOST',
  'BEE_CRASHED',
  'CELL_FETCH_FAILED',
]);
