import WebSocket from 'ws';
import { pinnedConnect } from '@apiary/config';
import { CloseCodes, decodePacket, PacketBatcher, QueenToHive, type HiveToQueen } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import { checkHotQueenToHive } from './queen-hot.js';

export interface LinkHandlers {
  /** The socket is open; send hello now. */
  onOpen(): void;
  onMessage(msg: QueenToHive): void;
  onClose(code: number, reason: string): void;
}

/**
 * The hive's one WebSocket to the queen, opened by the hive (so it works from behind NAT).
 * Reconnecting is the hive's decision, not the link's: a link is one connection attempt.
 */
export class QueenLink {
  #ws: WebSocket | null = null;
  readonly #out = new PacketBatcher<HiveToQueen>((packet) => {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(packet);
    return true;
  });

  constructor(
    private readonly url: string,
    private readonly handlers: LinkHandlers,
    private readonly log: Logger,
    /** The queen's certificate fingerprint: a wss:// queen must present exactly it (see tls-pin.ts). */
    private readonly fingerprint?: string,
  ) {}

  connect(): void {
    // Pinned: the upgrade (and the hello with the join token after it) goes only to the pinned certificate.
    const pin = this.fingerprint && this.url.startsWith('wss:') ? { createConnection: pinnedConnect(this.fingerprint) as never } : {};
    const ws = new WebSocket(this.url, { handshakeTimeout: 5000, perMessageDeflate: false, ...pin });
    this.#ws = ws;
    ws.on('open', () => this.handlers.onOpen());
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msgs: QueenToHive[];
      try {
        msgs = decodePacket(QueenToHive, data.toString(), 'queen→hive message', checkHotQueenToHive);
      } catch (e) {
        this.log.warn((e as Error).message);
        return;
      }
      for (const m of msgs) this.handlers.onMessage(m);
    });
    ws.on('error', (e) => {
      // A wrong certificate is not a network blip: say so loudly on every attempt (the hive keeps retrying).
      const code = (e as { code?: string }).code;
      if (code === 'TLS_PIN_MISMATCH') this.log.error(`queen link: TLS_PIN_MISMATCH: ${e.message}`);
      else if (this.url.startsWith('wss:') && /certificate|SSL|TLS/i.test(`${code} ${e.message}`)) this.log.warn(`queen link: TLS: ${code ?? ''} ${e.message}`);
      else this.log.debug(`queen link: ${e.message}`);
    });
    ws.on('close', (code, reason) => {
      if (this.#ws === ws) this.#ws = null;
      this.handlers.onClose(code, reason.toString());
    });
  }

  get open(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Queue a message for this turn's packet; false when not connected (the caller keeps it). */
  send(msg: HiveToQueen): boolean {
    if (!this.open) return false;
    this.#out.push(msg);
    return true;
  }

  /** Messages queued but never written because the socket closed first. */
  takeUnsent(): HiveToQueen[] {
    return this.#out.takeUnsent();
  }

  close(code: number = CloseCodes.SHUTDOWN, reason = 'hive stopping'): void {
    const ws = this.#ws;
    if (!ws) return;
    this.#out.flush();
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason);
  }
}

/** Jittered, capped exponential backoff: 200 ms, 400 ms, … up to 5 s, each ±50 %. */
export function backoffMs(attempt: number, baseMs = 200, capMs = 5000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 10));
  return Math.round(exp * (0.5 + Math.random()));
}
