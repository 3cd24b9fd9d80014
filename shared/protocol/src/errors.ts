/** What the colony does with an error code, declared once; every other list is derived from it. */
export interface ErrorSpec {
  /** HTTP status when the code answers a request itself (the queen's `httpStatus`). */
  readonly http: number;
  /**
   * Whether a failed attempt with this code is retried while attempts remain:
   * 'colony' — the colony's fault, always retried (RETRYABLE_CODES);
   * 'user' — the task's own fault, retried only for a task with `limits.retryUserErrors` (USER_ERROR_CODES);
   * 'never' — final.
   */
  readonly retry: 'colony' | 'user' | 'never';
  /** keeper's exit code when this error ends a command: 2 for a wrong command line or configuration, else 1. */
  readonly keeperExit: 1 | 2;
  /** What the code means; specs/errors.md repeats it, and a test checks that the two agree. */
  readonly description: string;
}

/**
 * Stable error codes. They cross process boundaries as `{ code, message, ... }` and are part of
 * the public contract: clients and scripts match on them, so a code is never renamed or reused.
 */
export const ERRORS = {
  // Task outcomes
  SQL_ERROR: { http: 400, retry: 'user', keeperExit: 1, description: 'The SQL failed in DuckDB (syntax, binder or runtime error).' },
  SQL_READ_ONLY: { http: 400, retry: 'never', keeperExit: 1, description: 'SQL over frames must be one read-only SELECT (no DDL, DML, COPY, ATTACH, SET).' },
  RESULT_TOO_LARGE: {
    http: 413,
    retry: 'never',
    keeperExit: 1,
    description: 'The query result is over the size limit; narrow it, add LIMIT, or write it to a frame.',
  },
  TASK_FAILED: { http: 500, retry: 'user', keeperExit: 1, description: 'A js task threw or rejected.' },
  TASK_MODULE_NOT_FOUND: { http: 500, retry: 'never', keeperExit: 1, description: 'The js task module could not be loaded.' },
  TASK_EXPORT_NOT_FOUND: { http: 500, retry: 'never', keeperExit: 1, description: 'The js task module has no such exported function.' },
  TASK_RESULT_INVALID: { http: 500, retry: 'never', keeperExit: 1, description: 'The task result cannot be sent back (not structured-cloneable / JSON).' },
  TASK_TIMEOUT: { http: 500, retry: 'colony', keeperExit: 1, description: 'The task ran past its timeout; its bee was killed and replaced.' },
  TASK_CANCELLED: { http: 500, retry: 'never', keeperExit: 1, description: 'The task was cancelled by a client or by shutdown.' },
  TASK_ABANDONED: { http: 500, retry: 'never', keeperExit: 1, description: 'The task failed on every attempt and was abandoned.' },
  TASK_NOT_FOUND: { http: 404, retry: 'never', keeperExit: 1, description: 'No task with that id.' },
  BEE_MEMORY_EXCEEDED: {
    http: 500,
    retry: 'colony',
    keeperExit: 1,
    description: "The task went over its bee's memory budget; the bee was killed and replaced.",
  },
  MEMORY_READING_INVALID: {
    http: 500,
    retry: 'never',
    keeperExit: 1,
    description: "A live bee's memory reading is impossible (0 RSS, or no usable page size): its budget cannot be enforced.",
  },
  BEE_CRASHED: { http: 500, retry: 'colony', keeperExit: 1, description: 'The bee process died while running the task.' },
  CELL_FETCH_FAILED: {
    http: 500,
    retry: 'colony',
    keeperExit: 1,
    description: 'A remote hive could not fetch a cell (or a partial result) from the queen, or its checksum did not match.',
  },
  // Cluster
  HIVE_LOST: { http: 503, retry: 'colony', keeperExit: 1, description: 'The hive stopped answering (connection closed or heartbeats missed).' },
  NO_HIVES: { http: 503, retry: 'never', keeperExit: 1, description: 'No hive is connected to run the task.' },
  HIVE_NOT_FOUND: { http: 404, retry: 'never', keeperExit: 1, description: 'No hive of that id or name is connected.' },
  STALE_ATTEMPT: {
    http: 409,
    retry: 'never',
    keeperExit: 1,
    description:
      'A hive reported a task attempt that is not the current one it holds (unknown or stale attempt token, or another hive holds it); the report was ignored.',
  },
  TLS_PIN_MISMATCH: {
    http: 500,
    retry: 'never',
    keeperExit: 1,
    description: "The queen's TLS certificate is not the one pinned (its SHA-256 fingerprint differs); nothing was sent.",
  },
  AUTH_FAILED: { http: 401, retry: 'never', keeperExit: 1, description: 'Missing or wrong token.' },
  FORBIDDEN: { http: 403, retry: 'never', keeperExit: 1, description: 'The token is valid but its scope does not reach this route or action.' },
  TOKEN_NOT_FOUND: { http: 404, retry: 'never', keeperExit: 1, description: 'No active API token with that id.' },
  IDEMPOTENCY_KEY_REUSED: {
    http: 422,
    retry: 'never',
    keeperExit: 1,
    description: 'The Idempotency-Key was already used with a different request; a new request needs a new key.',
  },
  QUEEN_DRAINING: { http: 503, retry: 'never', keeperExit: 1, description: 'The queen is shutting down and takes no new work.' },
  QUEEN_UNREACHABLE: { http: 500, retry: 'never', keeperExit: 1, description: 'The queen cannot be reached.' },
  QUEEN_START_FAILED: { http: 500, retry: 'never', keeperExit: 1, description: 'The queen process did not start.' },
  COLONY_CRITICAL: { http: 503, retry: 'never', keeperExit: 1, description: 'The colony is overloaded; retry later.' },
  COLONY_HOT: { http: 503, retry: 'never', keeperExit: 1, description: 'The colony stayed hot for as long as a write may wait; retry the write later.' },
  // SSH cluster (per host)
  HOST_UNREACHABLE: { http: 500, retry: 'never', keeperExit: 1, description: 'The host did not answer on its SSH port.' },
  SSH_AUTH_FAILED: { http: 500, retry: 'never', keeperExit: 1, description: 'The host refused our SSH key.' },
  HOST_KEY_UNKNOWN: { http: 500, retry: 'never', keeperExit: 1, description: "The host's SSH key is not in known_hosts." },
  HOST_KEY_MISMATCH: { http: 500, retry: 'never', keeperExit: 1, description: "The host's SSH key differs from the one in known_hosts." },
  HOST_KEY_REVOKED: { http: 500, retry: 'never', keeperExit: 1, description: "The host's SSH key is marked @revoked in known_hosts." },
  PREFLIGHT_FAILED: { http: 500, retry: 'never', keeperExit: 1, description: 'The host lacks something a hive needs (node >= 20, disk, write access).' },
  SETUP_FAILED: { http: 500, retry: 'never', keeperExit: 1, description: 'A setup command or an upload failed on the host.' },
  BINDING_FETCH_FAILED: {
    http: 500,
    retry: 'never',
    keeperExit: 1,
    description: "The host's DuckDB binding is not installed here and could not be fetched from the npm registry (or failed its integrity check).",
  },
  HIVE_JOIN_TIMEOUT: { http: 500, retry: 'never', keeperExit: 1, description: 'The hive started but did not join the queen in time.' },
  REMOTE_COMMAND_FAILED: { http: 500, retry: 'never', keeperExit: 1, description: 'A command run over SSH failed.' },
  // Frames
  FRAME_NAME_INVALID: { http: 400, retry: 'never', keeperExit: 2, description: 'A frame name must match ^[a-z_][a-z0-9_]{0,62}$.' },
  FRAME_NOT_FOUND: { http: 404, retry: 'never', keeperExit: 1, description: 'No frame with that name.' },
  PROGRESS_NOT_FOUND: { http: 404, retry: 'never', keeperExit: 1, description: 'No running request with that request id (not begun, or already ended).' },
  FRAME_SCHEMA_MISMATCH: {
    http: 409,
    retry: 'never',
    keeperExit: 1,
    description: "The data's columns differ from the frame's (or between the write's input files).",
  },
  INPUT_NOT_FOUND: { http: 400, retry: 'never', keeperExit: 1, description: 'The input path or glob of a write matches no file.' },
  FRAME_VALUE_OUT_OF_RANGE: {
    http: 400,
    retry: 'never',
    keeperExit: 1,
    description: 'A value of the written data does not fit the type its frame column is stored as (a HUGEINT past DECIMAL(38,0)).',
  },
  // Input
  BAD_REQUEST: { http: 400, retry: 'never', keeperExit: 1, description: 'The request or message does not match its schema.' },
  PAYLOAD_TOO_LARGE: { http: 413, retry: 'never', keeperExit: 1, description: 'The request body is over the size limit.' },
  CONFIG_INVALID: { http: 400, retry: 'never', keeperExit: 2, description: 'An option or configuration value is invalid.' },
  USAGE: { http: 500, retry: 'never', keeperExit: 2, description: 'The command line is invalid.' },
  INTERNAL: { http: 500, retry: 'never', keeperExit: 1, description: 'An unexpected internal error.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

const CODES = Object.keys(ERRORS) as ErrorCode[];
const codesWhere = (f: (s: ErrorSpec) => boolean): ReadonlySet<ErrorCode> => new Set(CODES.filter((c) => f(ERRORS[c])));

/** Each code's description. */
export const ErrorCodes = Object.fromEntries(CODES.map((c) => [c, ERRORS[c].description])) as { readonly [C in ErrorCode]: string };

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
  return typeof v === 'string' && Object.hasOwn(ERRORS, v);
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
export const RETRYABLE_CODES = codesWhere((s) => s.retry === 'colony');

/** Errors caused by the task itself; retried only when the task opts in (`limits.retryUserErrors`). */
export const USER_ERROR_CODES = codesWhere((s) => s.retry === 'user');
