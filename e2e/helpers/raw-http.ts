import http from 'node:http';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body for answers that end (errors, ordinary responses); null for a stream cut short. */
  json: Record<string, unknown> | null;
}

/**
 * One request on node:http. A 2xx `text/event-stream` answer (GET /v1/events) never ends: it is
 * resolved at its headers and the socket closed, so every route can be probed the same way.
 */
export function rawRequest(
  url: string,
  o: { method: string; token?: string | null; body?: string; headers?: Record<string, string>; timeoutMs?: number },
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] ??= 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method, headers }, (res) => {
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: null });
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let json: Record<string, unknown> | null = null;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          // not JSON (a page, a file): the status is what the caller checks
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    // A probe that hangs names itself rather than running into the test's timeout.
    req.setTimeout(o.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer to ${o.method} ${url} within ${o.timeoutMs ?? 15_000} ms`)));
    req.end(o.body);
  });
}
