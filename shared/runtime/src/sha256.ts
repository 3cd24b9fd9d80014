import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/*
 * sha256 of a short string on the request path. crypto.hash (one-shot) costs 3-5x less CPU than
 * createHash().update().digest(), but only Node >= 20.12 has it; apiary supports every Node 20, so an
 * older one falls back (a named `import { hash }` would fail to link there).
 */
type OneShot = (algorithm: string, data: string, encoding: 'hex' | 'buffer') => string | Buffer;
const oneShot = (crypto as { hash?: OneShot }).hash;

export const sha256HexFallback = (s: string): string => createHash('sha256').update(s).digest('hex');
export const sha256BufferFallback = (s: string): Buffer => createHash('sha256').update(s).digest();

export const sha256Hex: (s: string) => string = oneShot ? (s) => oneShot('sha256', s, 'hex') as string : sha256HexFallback;
export const sha256Buffer: (s: string) => Buffer = oneShot ? (s) => oneShot('sha256', s, 'buffer') as Buffer : sha256BufferFallback;
