import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pinnedAgent } from '@apiary/config';

/*
 * HTTP to the queen's /v1/cells on node:http(s), not fetch: fetch cannot take a socket factory, and a
 * wss:// queen's certificate is pinned (tls-pin.ts), for cell downloads and uploads as for the socket.
 */

/** The pinned agent for an https queen with a known fingerprint; undefined otherwise (plain http, or CA checks). */
export function queenAgent(baseUrl: string, fingerprint: string | undefined): http.Agent | undefined {
  return fingerprint && baseUrl.startsWith('https:') ? pinnedAgent(fingerprint) : undefined;
}

/** One request; resolves with the response, its body not yet read. */
export function queenRequest(
  url: string,
  o: { method: string; headers: Record<string, string>; body?: Readable; agent?: http.Agent },
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method: o.method, headers: o.headers, ...(o.agent ? { agent: o.agent } : {}) }, resolve);
    req.on('error', reject);
    if (!o.body) {
      req.end();
      return;
    }
    o.body.on('error', (e) => req.destroy(e));
    o.body.pipe(req);
  });
}
