import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError, type ErrorCode, type WireError } from '@apiary/protocol';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  FRAME_NAME_INVALID: 400,
  INPUT_NOT_FOUND: 400,
  SQL_ERROR: 400,
  SQL_READ_ONLY: 400,
  RESULT_TOO_LARGE: 413,
  FRAME_NOT_FOUND: 404,
  FRAME_SCHEMA_MISMATCH: 409,
  COLONY_HOT: 503,
  CONFIG_INVALID: 400,
  AUTH_FAILED: 401,
  TASK_NOT_FOUND: 404,
  HIVE_NOT_FOUND: 404,
  HIVE_LOST: 503,
  PAYLOAD_TOO_LARGE: 413,
  QUEEN_DRAINING: 503,
  COLONY_CRITICAL: 503,
  NO_HIVES: 503,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Every error leaves the queen as `{ code, message }`; fastify's own errors get our codes too. */
export function errorHandler(err: FastifyError | ApiaryError, _req: FastifyRequest, reply: FastifyReply): void {
  let wire: WireError;
  if (err instanceof ApiaryError) wire = err.toWire();
  else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') wire = { code: 'PAYLOAD_TOO_LARGE', message: `request body over the limit: ${err.message}` };
  else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) wire = { code: 'BAD_REQUEST', message: err.message };
  else wire = { code: 'INTERNAL', message: err.message };
  const retryAfterMs = wire.details?.retryAfterMs;
  if (typeof retryAfterMs === 'number') void reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  void reply.status(httpStatus(wire.code)).send(wire);
}
