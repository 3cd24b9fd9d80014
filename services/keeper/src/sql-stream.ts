import http from 'node:http';
import https from 'node:https';
import { ApiaryError, type Column, REQUEST_ID_HEADER, type TaskLimits, type WireError } from '@apiary/protocol';
import { agentFor } from './tls-pins.js';

export interface StreamEnd {
  rows: number;
  tasks: string[];
  explain: string | null;
}

export interface StreamHandlers {
  /** The columns, before any row. */
  onColumns(columns: Column[]): void;
  /** A batch of rows as they arrived (values in column order). */
  onRows(rows: unknown[][]): void;
}

/**
 * POST /v1/sql with `format: ndjson` (specs/frames.md#streamed-results): hands rows on as they
 * arrive and reads no more while a handler's output is not taken (the socket is paused while
 * stdout drains). Resolves with the `end` line; the `error` line, an HTTP error, or a body cut off
 * before its `end` line reject with an ApiaryError, so `keeper sql` exits non-zero.
 */
export function streamSql(
  baseUrl: string,
  token: string,
  body: { sql: string; limits?: TaskLimits; requestId?: string },
  h: StreamHandlers,
  signal?: AbortSignal,
  drain?: () => Promise<void> | null,
): Promise<StreamEnd> {
  return new Promise((resolve, reject) => {
    const url = `${baseUrl}/v1/sql`;
    const mod = url.startsWith('https:') ? https : http;
    const agent = agentFor(url);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/x-ndjson' };
    if (body.requestId !== undefined) headers[REQUEST_ID_HEADER] = body.requestId;
    const req = mod.request(url, { method: 'POST', headers, signal, ...(agent ? { agent } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let w: Partial<WireError> | null = null;
          try {
            w = JSON.parse(text) as WireError;
          } catch {
            // not JSON: reported by status
          }
          reject(new ApiaryError(w?.code ?? 'INTERNAL', w?.message ?? `HTTP ${res.statusCode} from the queen`));
        });
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      let columns = false;
      let end: StreamEnd | null = null;
      let failed: ApiaryError | null = null;
      res.on('data', (chunk: string) => {
        buf += chunk;
        const cut = buf.lastIndexOf('\n');
        if (cut < 0) return;
        const lines = buf.slice(0, cut).split('\n');
        buf = buf.slice(cut + 1);
        const rows: unknown[][] = [];
        for (const line of lines) {
          if (line === '') continue;
          const v = JSON.parse(line) as unknown;
          if (Array.isArray(v)) rows.push(v);
          else if (!columns) {
            columns = true;
            h.onColumns((v as { columns: Column[] }).columns);
          } else if ((v as { end?: StreamEnd }).end) end = (v as { end: StreamEnd }).end;
          else if ((v as { error?: WireError }).error) failed = ApiaryError.fromWire((v as { error: WireError }).error);
        }
        if (rows.length) h.onRows(rows);
        // Backpressure: stop reading the socket until the printed rows are taken.
        const waiting = drain?.();
        if (waiting) {
          res.pause();
          void waiting.then(() => res.resume());
        }
      });
      res.on('end', () => {
        if (failed) reject(failed);
        else if (end) resolve(end);
        else reject(new ApiaryError('QUEEN_UNREACHABLE', 'the result stream ended before its end line (the connection to the queen broke)'));
      });
      res.on('error', (e) => reject(new ApiaryError('QUEEN_UNREACHABLE', `the result stream broke: ${e.message}`)));
    });
    req.on('error', (e) => {
      if (e.name === 'AbortError') reject(e);
      else if (e instanceof ApiaryError) reject(e);
      else reject(new ApiaryError('QUEEN_UNREACHABLE', `cannot reach the queen at ${baseUrl}: ${e.message}`, undefined, { cause: e }));
    });
    req.end(JSON.stringify({ sql: body.sql, limits: body.limits ?? {}, format: 'ndjson' }));
  });
}
