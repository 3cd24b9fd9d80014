import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError, ERRORS, type ErrorCode, isErrorCode, type WireError } from '@apiary/protocol';

/** The status of the code in the error table (ERRORS); a code this queen does not know is a 500. */
export function httpStatus(code: ErrorCode): number {
  return isErrorCode(code) ? ERRORS[code].http : 500;
}

/** Every error leaves the queen as `{ code, message }`; fastify's own errors get our codes too. */
export function wireOf(err: FastifyError | ApiaryError): WireError {
  if (err instanceof ApiaryError) return err.toWire();
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { code: 'PAYLOAD_TOO_LARGE', message: `request body over the limit: ${err.message}` };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return { code: 'BAD_REQUEST', message: err.message };
  return { code: 'INTERNAL', message: err.message };
}

/** The Retry-After header (seconds) an error's details ask for, if any. */
export function retryAfterOf(wire: WireError): string | undefined {
  const retryAfterMs = wire.details?.retryAfterMs;
  return typeof retryAfterMs === 'number' ? String(Math.ceil(retryAfterMs / 1000)) : undefined;
}

/** Fastify's error handler; the lean submit path (lean-submit.ts) answers with the same two functions. */
export function errorHandler(err: FastifyError | ApiaryError, _req: FastifyRequest, reply: FastifyReply): void {
  const wire = wireOf(err);
  const retryAfter = retryAfterOf(wire);
  if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
  void reply.status(httpStatus(wire.code)).send(wire);
}
