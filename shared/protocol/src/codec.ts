import type { z } from 'zod';
import { ApiaryError } from './errors.js';

/** Validate an already-decoded value against a schema; a mismatch is a BAD_REQUEST naming the field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new ApiaryError('BAD_REQUEST', `invalid ${what}${where}: ${issue?.message ?? 'does not match schema'}`);
}

/** Decode a JSON text frame and validate it. */
export function decode<S extends z.ZodType>(schema: S, text: string, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiaryError('BAD_REQUEST', `invalid ${what}: not JSON`);
  }
  return validate(schema, value, what);
}
