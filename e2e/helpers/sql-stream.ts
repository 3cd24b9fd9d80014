import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Column } from '@apiary/protocol';
import { expect } from 'vitest';
import type { TestDaemon } from './daemon.js';

/** A streamed /v1/sql answer as read: the columns line and the last (end or error) line; rows go to onRow. */
export interface SqlStream {
  status: number;
  columns: Column[];
  /** `{ end: … }` or `{ error: … }` after the rows; for a status other than 200, the error body. */
  trailer: Record<string, unknown> | null;
}

/**
 * POST /v1/sql with format ndjson (specs/frames.md#streamed-results), read line by line as it
 * arrives, so a result of any size is never held whole: each row array goes to `onRow`. Checks
 * the stream's shape on the way: the NDJSON content type, and every line ended by `\n`.
 */
export async function streamSql(d: TestDaemon, sql: string, onRow: (row: unknown[]) => void): Promise<SqlStream> {
  const res = await fetch(`${d.url}/v1/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token('client')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql, format: 'ndjson' }),
  });
  if (res.status !== 200) return { status: res.status, columns: [], trailer: (await res.json()) as Record<string, unknown> };
  expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  const out: SqlStream = { status: 200, columns: [], trailer: null };
  const take = (line: string) => {
    const v = JSON.parse(line) as unknown;
    if (Array.isArray(v)) onRow(v);
    else if (out.columns.length === 0 && (v as { columns?: Column[] }).columns) out.columns = (v as { columns: Column[] }).columns;
    else out.trailer = v as Record<string, unknown>;
  };
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const l of lines) take(l);
  }
  expect(rest, 'every line ends with \\n').toBe('');
  return out;
}

/** The spool dirs of streamed queries under the daemon's data root: none once every response is over. */
export function spoolDirs(d: TestDaemon): string[] {
  const q = path.join(d.home, 'data', 'queries');
  return existsSync(q) ? readdirSync(q) : [];
}
