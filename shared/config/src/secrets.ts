import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiaryError } from '@apiary/protocol';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Read a secret from a file only its owner may read; a group- or world-readable one is refused. */
export function readSecretFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new ApiaryError('CONFIG_INVALID', `${file} is readable by others (mode ${mode.toString(8)}): run chmod 600 ${file}`);
  }
  const v = readFileSync(file, 'utf8').trim();
  if (v.length < 16) throw new ApiaryError('CONFIG_INVALID', `${file} holds no usable token (at least 16 characters)`);
  return v;
}

/** Write a file 0600 in a 0700 dir, atomically: a reader sees the old content or the new, never half. */
export function writePrivateFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The token in `file`, generated on first use. */
export function loadOrCreateToken(file: string): string {
  try {
    return readSecretFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const t = newToken();
  writePrivateFile(file, t + '\n');
  return t;
}
