import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { ApiaryError } from '@apiary/protocol';

/*
 * Certificate pinning for a cluster queen's self-signed certificate. A hive or keeper knows the
 * SHA-256 fingerprint of the queen's certificate (delivered by `cluster up`, or from queen.json /
 * config.json) and accepts exactly that certificate. The usual chain check cannot help (no CA signed
 * it) and checkServerIdentity is not called when the chain check fails, so the check runs in the
 * socket factory: the TLS socket is handed to the HTTP or WebSocket client only after its peer's
 * fingerprint matched, so no byte (not the upgrade, not a bearer token) is written to any other peer.
 */

/** Node's fingerprint256 form: 32 upper-case hex bytes joined by colons. */
const FINGERPRINT_RE = /^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** How long a TLS handshake may take before the attempt fails (the client's own timeout starts later). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A fingerprint as written by a user (hex, colons optional, any case) in Node's form; CONFIG_INVALID if it is none. */
export function normalizeFingerprint(s: string, what = 'fingerprint'): string {
  const hex = s.trim().replace(/:/g, '').toUpperCase();
  const fp = hex.match(/.{2}/g)?.join(':') ?? '';
  if (!FINGERPRINT_RE.test(fp))
    throw new ApiaryError('CONFIG_INVALID', `${what}: expected a SHA-256 fingerprint (64 hex digits, colons optional), got ${JSON.stringify(s.slice(0, 100))}`);
  return fp;
}

/** The SHA-256 fingerprint of a PEM certificate, in Node's form. */
export function certFingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

export function pinMismatch(where: string, got: string, want: string): ApiaryError {
  return new ApiaryError(
    'TLS_PIN_MISMATCH',
    `the queen at ${where} presented a TLS certificate with SHA-256 fingerprint ${got}, not the pinned ${want}; nothing was sent. ` +
      'If the queen has a new certificate on purpose, run `keeper cluster up` again (hives) or update `fingerprint` in config.json (keeper); otherwise something between here and the queen is answering in its place',
    { got, want },
  );
}

interface ConnectOptions {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  servername?: string;
}

type Callback = (err: Error | null, socket?: tls.TLSSocket) => void;

/**
 * A `createConnection(options, callback)` for http(s).request, https.Agent and ws: it opens TLS
 * without the chain check, compares the peer's fingerprint with `fingerprint`, and only then gives
 * the socket to the caller; on a mismatch it destroys the socket and fails with TLS_PIN_MISMATCH.
 */
export function pinnedConnect(fingerprint: string): (opts: ConnectOptions, cb: Callback) => undefined {
  const want = normalizeFingerprint(fingerprint);
  return (opts, cb) => {
    // ws and http pass the host unbracketed; `path` (the URL path) must not reach tls.connect (an IPC path there).
    const host = opts.hostname ?? opts.host ?? 'localhost';
    const port = Number(opts.port ?? 443);
    const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    let settled = false;
    const done = (err: Error | null, s?: tls.TLSSocket) => {
      if (settled) return;
      settled = true;
      cb(err, s);
    };
    const sock = tls.connect({ host, port, servername: opts.servername || (net.isIP(host) ? undefined : host), rejectUnauthorized: false });
    const onError = (e: Error) => done(e);
    sock.once('error', onError);
    sock.setTimeout(TLS_HANDSHAKE_TIMEOUT_MS, () => sock.destroy(new Error(`TLS handshake with ${where} timed out after ${TLS_HANDSHAKE_TIMEOUT_MS} ms`)));
    sock.once('secureConnect', () => {
      sock.setTimeout(0);
      const got = sock.getPeerCertificate().fingerprint256 ?? '(none)';
      if (got !== want) {
        sock.removeListener('error', onError);
        sock.on('error', () => undefined);
        sock.destroy();
        done(pinMismatch(where, got, want));
        return;
      }
      sock.removeListener('error', onError);
      done(null, sock);
    });
    return undefined;
  };
}

/** An https.Agent whose every connection is pinned (no keep-alive: each request checks afresh). */
export function pinnedAgent(fingerprint: string): https.Agent {
  const agent = new https.Agent({ keepAlive: false });
  const connect = pinnedConnect(fingerprint);
  (agent as unknown as { createConnection: (o: ConnectOptions, cb: Callback) => undefined }).createConnection = connect;
  return agent;
}
