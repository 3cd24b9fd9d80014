import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** How OpenSSH names a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'mismatch' };

/** A known_hosts entry matches the host plainly or through OpenSSH's hashed form (|1|salt|hmac). */
function matches(field: string, pattern: string): boolean {
  for (const h of field.split(',')) {
    if (h.startsWith('|1|')) {
      const [, , salt, hash] = h.split('|');
      if (salt && hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(pattern).digest('base64') === hash) return true;
    } else if (h === pattern) {
      return true;
    }
  }
  return false;
}

/**
 * Check the key a host presented (`keyType`, raw key blob) against known_hosts. Unknown and
 * mismatched keys are both refusals; the caller decides whether an unknown one may be added.
 */
export function verifyHostKey(file: string, address: string, port: number, keyType: string, key: Buffer): HostKeyVerdict {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const pattern = hostPattern(address, port);
  const presented = key.toString('base64');
  let sawHost = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('@')) continue;
    const [hosts, type, blob] = t.split(/\s+/);
    if (!hosts || !type || !blob || !matches(hosts, pattern)) continue;
    if (type === keyType && blob === presented) return { ok: true };
    if (type === keyType) sawHost = true;
  }
  return { ok: false, reason: sawHost ? 'mismatch' : 'unknown' };
}

export function addHostKey(file: string, address: string, port: number, keyType: string, key: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${hostPattern(address, port)} ${keyType} ${key.toString('base64')}\n`, { mode: 0o600 });
}

/** The key type name inside an SSH public key blob (string length-prefixed at its start). */
export function keyTypeOf(blob: Buffer): string {
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('ascii');
}
