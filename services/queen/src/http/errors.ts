import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError, ERRORS, type ErrorCode, isErrorCode, type WireError } from '@apiary/protocol';

/** The status of the code in the error table (ERRORS); a code this queen does not know is a 500. */
export function httpStatus(code: ErrorCode): number {
  return isErrorCode(code) ? ERRORS[code].http : 500;
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
