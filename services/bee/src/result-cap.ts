import { ApiaryError, MAX_RESULT_BYTES, MAX_RESULT_ROWS, type TaskValue } from '@apiary/protocol';

const HINT =
  'stream it instead (POST /v1/sql with format ndjson or csv, as keeper sql does), add a LIMIT, aggregate further, or write it to a frame (keeper sql --into FRAME)';

/**
 * Refuse a result over the limits here, in the bee, where measuring it blocks no one: the hive
 * and the queen then never handle it (see shared/protocol/src/limits.ts).
 */
export function checkResultSize(v: TaskValue): void {
  if (v.kind === 'sql' && v.rows.length > MAX_RESULT_ROWS) {
    throw new ApiaryError('RESULT_TOO_LARGE', `the result has ${v.rows.length} rows, over ${MAX_RESULT_ROWS}: ${HINT}`);
  }
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(v));
  } catch {
    bytes = Infinity; // over V8's string limit (~512 MiB): far over the cap
  }
  checkResultBytes(bytes);
}

/** The JSON envelope `{"kind":"js","value":…}` around a js task's value, in bytes. */
export const JS_ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ kind: 'js', value: null })) - 4;

/** Refuse a result of `bytes` (its JSON, measured by the caller; Infinity: too long to stringify) over the cap. */
export function checkResultBytes(bytes: number): void {
  if (bytes > MAX_RESULT_BYTES) {
    const size = Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(0)} MiB` : 'over 512 MiB';
    throw new ApiaryError('RESULT_TOO_LARGE', `the result is ${size}, over ${MAX_RESULT_BYTES / 1048576} MiB: ${HINT}`);
  }
}
