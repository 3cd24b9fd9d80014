import { z } from 'zod';
import { ApiaryError } from './errors.js';

/**
 * Progress of a long request (a frame write or a frame query), for `keeper write`/`keeper sql` on a
 * TTY (specs/frames.md#progress). The client names its request with this header; while the request
 * runs, GET /v1/progress/:id answers how far it is.
 */
export const REQUEST_ID_HEADER = 'x-apiary-request-id';

/** A request id: a short token the client makes up (a UUID fits), safe in a URL path. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function checkRequestId(id: unknown): string {
  if (typeof id !== 'string' || !REQUEST_ID.test(id)) {
    throw new ApiaryError('BAD_REQUEST', `invalid ${REQUEST_ID_HEADER} ${JSON.stringify(id)}: use 8-64 letters, digits, - and _`);
  }
  return id;
}

/**
 * Where a request is: `start` (waiting for hives, listing a glob), `plan` (a query's plan task),
 * `map` (a query's tasks over its cells), `merge` (the step that yields the rows), `write` (a write's
 * tasks over its input files), `commit` (recording the version). done/total count cells for a query
 * and input files for a write; they keep their last value through merge and commit.
 */
export const ProgressPhase = z.enum(['start', 'plan', 'map', 'merge', 'write', 'commit']);
export type ProgressPhase = z.infer<typeof ProgressPhase>;

export const ProgressView = z.object({
  id: z.string(),
  kind: z.enum(['query', 'write']),
  phase: ProgressPhase,
  /** Units finished, of `total` (cells read by finished tasks for a query, input files for a write; 0 of 0 before it is known). */
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  unit: z.enum(['cells', 'files']),
  /** Cells written so far (writes) or read by finished tasks (queries). */
  cells: z.number().int().nonnegative(),
  /** Milliseconds since the request began. */
  elapsed_ms: z.number().int().nonnegative(),
});
export type ProgressView = z.infer<typeof ProgressView>;

export const ProgressParams = z.object({ id: z.string().regex(REQUEST_ID) });
