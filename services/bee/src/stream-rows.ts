import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ApiaryError, type SqlResult } from '@apiary/protocol';
import { classifyDuckError } from './duck.js';
import { valueConverters } from './json-safe.js';

/** duckdb_result_type DUCKDB_RESULT_TYPE_INVALID: what a result with an error reports. */
const INVALID_RESULT = 0;

/**
 * A streamed result (specs/frames.md#streamed-results): DuckDB's rows, one chunk (≤ 2,048 rows) at
 * a time, rendered exactly as rowsOf renders a whole result, appended to `file` as NDJSON: a
 * `{"columns":[…]}` line, then one JSON array per row. The queen tails the file while this runs,
 * so nothing is held here beyond one chunk and the write stream's buffer; no size cap applies.
 * Returns the columns and no rows.
 */
export async function streamRowsTo(conn: DuckDBConnection, sql: string, file: string, signal: AbortSignal): Promise<SqlResult> {
  const onAbort = () => conn.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  const out = createWriteStream(file, { flags: 'w', highWaterMark: 1 << 20 });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => {});
  try {
    const result = await conn.stream(sql);
    const columns = result.columnNames().map((name, i) => ({ name, type: String(result.columnType(i)) }));
    const convert = valueConverters(columns.map((c) => c.type));
    const write = async (text: string) => {
      if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
    };
    await write(`${JSON.stringify({ columns })}\n`);
    let streamed = 0;
    for await (const rows of result.yieldRowsJson()) {
      let text = '';
      for (const row of rows) text += `${JSON.stringify(row.map((v, i) => (convert[i] ? convert[i]!(v) : v)))}\n`;
      await write(text);
      streamed += rows.length;
    }
    // An error while streaming ends the chunks like the last one does; only the result's return
    // type (INVALID once it has an error) tells them apart, and the bindings do not give its message.
    if (result.returnType === INVALID_RESULT) {
      if (signal.aborted) throw new ApiaryError('TASK_CANCELLED', 'query interrupted');
      throw new ApiaryError(
        'SQL_ERROR',
        `the query failed after ${streamed} rows had streamed (DuckDB's streaming API gives no message): run it whole (format json, with a LIMIT) to see the error`,
      );
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    return { kind: 'sql', columns, rows: [] };
  } catch (e) {
    throw e instanceof ApiaryError ? e : classifyDuckError(e);
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!out.closed) out.destroy();
  }
}
