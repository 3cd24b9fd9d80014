import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiaryError, checkHotHiveToQueen, CloseCodes, decodePacket, HiveToQueen, type Hello } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import { tokenMatches } from '../tokens.js';
import { HIVE_MAX_PACKET_BYTES, PRE_HELLO_MAX_PACKET_BYTES, setPacketLimit } from './packet-limit.js';
import { HELLO_CLOSE_GRACE_MS, HIVE_HELLO_TIMEOUT_MS, refuseUpgrade, upgradeRefusal } from './pre-auth.js';

export const HIVE_PATH = '/v1/hive';

export interface GatewayHandlers {
  /** A hive said hello with the right token; returns false to refuse it (e.g. the queen is draining). */
  onHello(ws: WebSocket, hello: Hello): boolean;
  onMessage(ws: WebSocket, msg: Exclude<HiveToQueen, Hello>): void;
  onClose(ws: WebSocket, code: number): void;
}

/**
 * Where hives connect: a WebSocket endpoint on the queen's HTTP port. The first packet must be a
 * `hello` with the join token within HIVE_HELLO_TIMEOUT_MS; anything else closes the socket
 * unregistered. Until that hello is accepted a packet may be at most PRE_HELLO_MAX_PACKET_BYTES (ws
 * closes a larger one with 1009 from its header, unread); after it, maxPayload. Upgrades with an
 * Origin header, or beyond MAX_PENDING_HIVE_SOCKETS unauthenticated ones, are refused (pre-auth.ts).
 */
export class HiveGateway {
  readonly #wss: WebSocketServer;
  /** Upgraded sockets without an accepted hello yet. */
  #pending = 0;

  constructor(
    server: Server,
    private readonly joinToken: string,
    private readonly handlers: GatewayHandlers,
    private readonly log: Logger,
    private readonly maxPayload: number = HIVE_MAX_PACKET_BYTES,
  ) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== HIVE_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const refusal = upgradeRefusal(req, this.#pending);
      if (refusal) {
        this.log.warn(`hive ${req.socket.remoteAddress ?? '?'}: upgrade refused (${refusal.status}): ${refusal.reason}`);
        refuseUpgrade(socket, refusal.status, refusal.reason);
        return;
      }
      // Counted from now: handleUpgrade may complete on a later turn, and the cap must hold meanwhile.
      this.#pending++;
      let counted = true;
      const release = () => {
        if (counted) this.#pending--;
        counted = false;
      };
      socket.once('close', release);
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req, release));
    });
  }

  #accept(ws: WebSocket, req: IncomingMessage, release: () => void): void {
    const peer = req.socket.remoteAddress ?? '?';
    try {
      setPacketLimit(ws, Math.min(PRE_HELLO_MAX_PACKET_BYTES, this.maxPayload));
    } catch (e) {
      this.log.error(`hive ${peer}: ${(e as Error).message}; refused`);
      ws.terminate();
      return;
    }
    let hello: Hello | null = null;
    const timer = setTimeout(() => {
      ws.close(CloseCodes.BAD_MESSAGE, 'no hello');
      // A peer that ignores the close frame would otherwise hold its slot for ws's 30 s close timeout.
      setTimeout(() => ws.terminate(), HELLO_CLOSE_GRACE_MS).unref();
    }, HIVE_HELLO_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => {
      let msgs: HiveToQueen[];
      try {
        if (isBinary) throw new ApiaryError('BAD_REQUEST', 'binary packets are not part of the protocol');
        msgs = decodePacket(HiveToQueen, data.toString(), 'hive message', checkHotHiveToQueen);
      } catch (e) {
        this.log.warn(`hive ${peer}: ${(e as Error).message}`);
        ws.send(JSON.stringify({ type: 'error', error: (e as ApiaryError).toWire?.() ?? { code: 'BAD_REQUEST', message: String(e) } }));
        if (!hello) ws.close(CloseCodes.BAD_MESSAGE, 'bad message');
        return;
      }
      for (const msg of msgs) {
        if (!hello) {
          clearTimeout(timer);
          if (msg.type !== 'hello') {
            ws.close(CloseCodes.BAD_MESSAGE, 'expected hello');
            return;
          }
          if (!tokenMatches(msg.token, this.joinToken)) {
            this.log.warn(`hive ${peer} (${msg.hive.name}): wrong join token; refused`);
            ws.send(JSON.stringify({ type: 'error', error: { code: 'AUTH_FAILED', message: 'wrong join token' } }));
            ws.close(CloseCodes.AUTH_FAILED, 'AUTH_FAILED');
            return;
          }
          if (!this.handlers.onHello(ws, msg)) {
            ws.close(CloseCodes.SHUTDOWN, 'queen draining');
            return;
          }
          hello = msg;
          release();
          setPacketLimit(ws, this.maxPayload);
          continue;
        }
        if (msg.type !== 'hello') this.handlers.onMessage(ws, msg);
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (hello) this.handlers.onClose(ws, code);
    });
    // A packet over the limit (1009) lands here; before hello it is worth a warning: someone unauthenticated sent it.
    ws.on('error', (e) => (hello ? this.log.debug(`hive ${peer}: ${e.message}`) : this.log.warn(`hive ${peer} before hello: ${e.message}`)));
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}
