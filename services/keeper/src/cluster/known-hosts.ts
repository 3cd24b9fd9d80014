import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServerHostKeyAlgorithm } from 'ssh2';

/** How OpenSSH names a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked' };

/** One host-name pattern, as OpenSSH reads it: `*` and `?` wildcards, or the hashed form (|1|salt|hmac). */
function matchesOne(p: string, name: string): boolean {
  if (p.startsWith('|1|')) {
    const [, , salt, hash] = p.split('|');
    return !!salt && !!hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  if (!/[*?]/.test(p)) return p === name;
  const re = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** A comma list matches when some pattern does and no negated (`!pattern`) one does. */
function matches(field: string, name: string): boolean {
  let hit = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (matchesOne(p.slice(1), name)) return false;
    } else if (matchesOne(p, name)) {
      hit = true;
    }
  }
  return hit;
}

interface Entry {
  marker: '' | '@revoked' | '@cert-authority';
  type: string;
  blob: string;
}

/** The known_hosts lines naming this host (markers kept apart; unknown markers are skipped, as OpenSSH does). */
function entriesFor(file: string, address: string, port: number): Entry[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const name = hostPattern(address, port);
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    const marker = fields[0].startsWith('@') ? fields.shift()! : '';
    if (marker !== '' && marker !== '@revoked' && marker !== '@cert-authority') continue;
    const [hosts, type, blob] = fields;
    if (hosts && type && blob && matches(hosts, name)) out.push({ marker, type, blob });
  }
  return out;
}

/**
 * Check the key a host presented (`keyType`, raw key blob) against known_hosts, as OpenSSH does: a
 * key on a `@revoked` line is refused whatever else is listed; a host listed with keys but not this
 * one (another key of the type, or only keys of other types) is a mismatch; `@cert-authority` lines
 * vouch for certificates, never for a plain host key, so they neither accept nor make a host known.
 * The caller may add an unknown key (--accept-new-host-keys), never a mismatched or revoked one.
 */
export function verifyHostKey(file: string, address: string, port: number, keyType: string, key: Buffer): HostKeyVerdict {
  const presented = key.toString('base64');
  const entries = entriesFor(file, address, port);
  if (entries.some((e) => e.marker === '@revoked' && e.blob === presented)) return { ok: false, reason: 'revoked' };
  const plain = entries.filter((e) => e.marker === '');
  if (plain.some((e) => e.type === keyType && e.blob === presented)) return { ok: true };
  return { ok: false, reason: plain.length > 0 ? 'mismatch' : 'unknown' };
}

/** ssh2's host key algorithms, OpenSSH's order. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * The host key algorithms to offer, those of the key types known_hosts lists for this host first
 * (as OpenSSH does): a host known by its ECDSA key is then asked for that one, not for an ed25519 key
 * that would read as a mismatch. undefined (ssh2's defaults) for a host not listed.
 */
export function hostKeyAlgorithms(file: string, address: string, port: number): ServerHostKeyAlgorithm[] | undefined {
  const known = new Set(
    entriesFor(file, address, port)
      .filter((e) => e.marker === '')
      .map((e) => e.type),
  );
  if (known.size === 0) return undefined;
  const first = HOST_KEY_ALGORITHMS.filter((a) => known.has(a) || (known.has('ssh-rsa') && a.startsWith('rsa-sha2-')));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
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
