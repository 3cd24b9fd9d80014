import type { Agent } from 'node:http';
import http from 'node:http';
import https from 'node:https';

export interface RawResponse {
  status: number;
  text: string;
}

export interface RequestOptions {
  method: string;
  headers: Record<string, string>;
  /** A string, or a stream (uploads). */
  body?: string | NodeJS.ReadableStream;
  /** Aborts the request (the queen then cancels the work). */
  signal?: AbortSignal;
  /** The socket's agent: keeper's certificate pinning (tls-pins.ts) hands one per queen. */
  agent?: Agent;
}

/**
 * One HTTP request with node:http, without the 300 s header timeout of Node's fetch: a query or a
 * write may take longer than that, and the queen answers only when it is done.
 */
export function request(url: string, o: RequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method: o.method, headers: o.headers, signal: o.signal, ...(o.agent ? { agent: o.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body === undefined) req.end();
    else if (typeof o.body === 'string') req.end(o.body);
    else o.body.pipe(req);
  });
}
