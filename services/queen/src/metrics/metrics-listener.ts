import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueenMetrics } from './metrics.js';

/**
 * The opt-in listener for a local scraper (--metrics-host/--metrics-port): GET /metrics without a
 * token, and nothing else. It binds only where it is told (default 127.0.0.1), so exposing it is
 * a deliberate choice; the main port's /metrics keeps the bearer token.
 */
export class MetricsListener {
  readonly #server: Server;

  constructor(metrics: QueenMetrics) {
    this.#server = createServer((req, res) => {
      const route = (req.url ?? '').split('?')[0];
      if (route !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e.message}\n`),
      );
    });
  }

  /** Listen; answers the URL to scrape (with the port the kernel gave, when asked for port 0). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const a = this.#server.address() as AddressInfo;
        resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
      });
    });
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
