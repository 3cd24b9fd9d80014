// @peculiar/x509 resolves its ASN.1 types through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { createSecureContext } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { certFingerprint, writePrivateFile } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';

/** What the queen serves HTTPS and WSS with. */
export interface QueenTls {
  cert: string;
  key: string;
  /** SHA-256 of the certificate (Node's fingerprint256 form): what hives and keepers pin. */
  fingerprint: string;
  /** 'generated' (made now), 'kept' (made at an earlier start), 'given' (the user's files). */
  source: 'generated' | 'kept' | 'given';
}

/** A generated certificate lasts this long: it is pinned by fingerprint, so expiry protects little and would break hives. */
const VALID_DAYS = 3650;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export { isLoopbackHost } from './loopback.js';

/**
 * The certificate for a queen that listens beyond loopback: the user's (certFile + keyFile), else the
 * one kept in `dir` (queen.crt, 0600 queen.key) when it still names every address in `names`, else a
 * new self-signed one (kept in `dir` unless it is null: an ephemeral queen's lives as long as it does).
 */
export async function queenTls(o: { dir: string | null; names: readonly string[]; certFile?: string; keyFile?: string }): Promise<QueenTls> {
  if (o.certFile || o.keyFile) return given(o.certFile, o.keyFile);
  const names = subjectNames(o.names);
  const certPath = o.dir ? path.join(o.dir, 'queen.crt') : null;
  const keyPath = o.dir ? path.join(o.dir, 'queen.key') : null;
  if (certPath && keyPath && existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (covers(cert, names)) return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: certFingerprint(cert), source: 'kept' };
  }
  const made = await generate(names);
  if (certPath && keyPath) {
    mkdirSync(path.dirname(certPath), { recursive: true, mode: 0o700 });
    writePrivateFile(keyPath, made.key);
    writeFileSync(certPath, made.cert, { mode: 0o644 });
  }
  return { ...made, fingerprint: certFingerprint(made.cert), source: 'generated' };
}

function given(certFile: string | undefined, keyFile: string | undefined): QueenTls {
  if (!certFile || !keyFile)
    throw new ApiaryError('CONFIG_INVALID', 'a TLS certificate needs both --tls-cert and --tls-key (cluster.yaml: queen.tls_cert and queen.tls_key)');
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new ApiaryError('CONFIG_INVALID', `${what} ${f}: ${(e as Error).message}`);
    }
  };
  const cert = read(certFile, '--tls-cert');
  const key = read(keyFile, '--tls-key');
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new ApiaryError(
      'CONFIG_INVALID',
      `--tls-cert ${certFile} and --tls-key ${keyFile} are not a matching PEM certificate and key: ${(e as Error).message}`,
    );
  }
  return { cert, key, fingerprint: certFingerprint(cert), source: 'given' };
}

/** The names a hive or keeper may dial: the given addresses plus loopback and this host's name. */
function subjectNames(names: readonly string[]): string[] {
  const all = [...names, '127.0.0.1', '::1', 'localhost', os.hostname()].map((n) => n.replace(/^\[|\]$/g, ''));
  // A wildcard bind address names no host; a host name that is no DNS name (an underscore) cannot be a SAN.
  return [...new Set(all.filter((n) => (net.isIP(n) ? n !== '0.0.0.0' && n !== '::' : /^[A-Za-z0-9.-]{1,253}$/.test(n))))];
}

function covers(pem: string, names: readonly string[]): boolean {
  try {
    const c = new X509Certificate(pem);
    if (Date.parse(c.validTo) < Date.now()) return false;
    return names.every((n) => (net.isIP(n) ? c.checkIP(n) !== undefined : c.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}

async function generate(names: readonly string[]): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as never);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=apiary queen ${os.hostname().replace(/[,=+<>#;"\\]/g, '-')}`,
    notBefore: new Date(now - 3_600_000), // an hour of slack for hosts whose clocks lag
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
    signingAlgorithm: ALG,
    keys: keys as never,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((n) => (net.isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem'), key };
}
