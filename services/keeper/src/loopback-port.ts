import { createServer } from 'node:net';

/** A loopback port bound by this process until release(): chosen before the server that will use it exists. */
export interface HeldPort {
  readonly port: number;
  /** Let the port go (once; later calls are no-ops), right before its real server listens on it. */
  release(): Promise<void>;
}

/**
 * Bind 127.0.0.1 on a free port and keep it bound. A hosted colony picks its queen's port this way so
 * its hive (and the first bee) can start before the queen's code is loaded; the window between
 * release() and the queen's listen is a few milliseconds, and the caller retries if it lost the port.
 */
export function holdLoopbackPort(): Promise<HeldPort> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      let released: Promise<void> | null = null;
      resolve({
        port,
        release: () => (released ??= new Promise<void>((r) => server.close(() => r()))),
      });
    });
  });
}
