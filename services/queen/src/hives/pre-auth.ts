import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/*
 * Limits on /v1/hive sockets that have not yet been authenticated (no accepted `hello`). Anyone
 * who reaches the queen's port can open one; these keep such sockets from holding resources.
 */

/** A socket must send a valid `hello` within this long after the upgrade, or it is closed (4400 `no hello`). */
export const HIVE_HELLO_TIMEOUT_MS = 5000;

/** After the deadline's close frame, a peer that does not answer it is cut off this much later. */
export const HELLO_CLOSE_GRACE_MS = 1000;

/**
 * Sockets upgraded but not yet authenticated, at most. The next upgrade gets 503 until one says
 * hello or goes away. Real hives say hello at once, so only a flood or a stuck peer fills this.
 */
export const MAX_PENDING_HIVE_SOCKETS = 64;

/**
 * Why an upgrade to /v1/hive is refused before the WebSocket handshake, or null to accept it:
 * 403 for a request with an `Origin` header (hives never send one; a browser always does, so a web
 * page cannot open the hive socket), 503 when MAX_PENDING_HIVE_SOCKETS are already waiting.
 */
export function upgradeRefusal(req: IncomingMessage, pending: number): { status: 403 | 503; reason: string } | null {
  if (req.headers.origin !== undefined) return { status: 403, reason: 'browser origins may not open the hive socket' };
  if (pending >= MAX_PENDING_HIVE_SOCKETS) return { status: 503, reason: `too many unauthenticated hive sockets (${MAX_PENDING_HIVE_SOCKETS})` };
  return null;
}

const STATUS_TEXT = { 403: 'Forbidden', 503: 'Service Unavailable' } as const;

/** Answer an upgrade with a plain HTTP error and close the connection. */
export function refuseUpgrade(socket: Duplex, status: 403 | 503, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
