import net from 'node:net';

/** Loopback binds stay plain HTTP (the local daemon, ephemeral runs); anything else is served over TLS. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (net.isIPv4(h) && h.startsWith('127.'));
}
