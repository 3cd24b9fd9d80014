import http from 'node:http';
import https from 'node:https';
import { agentFor } from './tls-pins.js';

export interface RawResponse {
  status: number;
  text: string;
}

/**
 * One HTTP request with node:http, without the 300 s header timeout of Node's fetch: a query or a
 * write may take longer than that, and the queen answers only when it is done. `body` is a string
 * or a stream (uploads); `signal` aborts the request (the queen then cancels the work).
 */
export function request(
  url: string,
  o: { method: string; headers: Record<string, string>; body?: string | NodeJS.ReadableStream; signal?: AbortSignal },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    // A pinned queen (tls-pins.ts) gets a socket only after its certificate matched.
    const agent = agentFor(url);
    const req = mod.request(url, { method: o.method, headers: o.headers, signal: o.signal, ...(agent ? { agent } : {}) }, (res) => {
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
