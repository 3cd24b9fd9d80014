import type { WebSocket } from 'ws';

/**
 * The largest packet (WebSocket message) a socket may send before its `hello` is accepted. Anyone who reaches the port
 * can open /v1/hive: without this, one unauthenticated packet of up to the authenticated limit
 * (256 MiB) would be buffered and JSON-parsed before the token is even looked at. A real hello is
 * a few KiB (its `running` list holds at most 2 jobs per bee, ≤ 512 entries of ~50 bytes).
 */
export const PRE_HELLO_MAX_PACKET_BYTES = 64 * 1024;

/**
 * The largest packet from an authenticated hive: results travel here, each capped by its bee at
 * MAX_RESULT_BYTES (64 MiB of JSON), several of them batched into one packet.
 */
export const HIVE_MAX_PACKET_BYTES = 256 * 1024 * 1024;

/** What ws's Receiver keeps per socket; its own length check (on the frame header) reads this. */
interface ReceiverLimit {
  _maxPayload: number;
}

/**
 * Change the packet limit of one open socket. ws fixes `maxPayload` per server, so the per-socket
 * value lives on its Receiver (ws 8): the check runs on the frame header, before any payload is
 * buffered, and an oversized packet is closed with 1009 by ws itself (the rest of it is drained
 * unread). Throws if ws no longer has that field, rather than silently accepting large packets.
 */
export function setPacketLimit(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: ReceiverLimit })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') throw new Error('ws Receiver has no _maxPayload: the pre-hello packet limit cannot be applied');
  receiver._maxPayload = bytes;
}
