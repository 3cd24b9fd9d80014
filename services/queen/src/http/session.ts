import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiaryError } from '@apiary/protocol';
import type { CredentialSource, Principal } from './auth.js';
import type { Scope } from './route-scopes.js';

/** A one-time code lives this long: enough to open a browser, short enough that a leaked one is stale. */
export const CODE_TTL_MS = 60_000;
/** A dashboard session lives this long (a working day); `keeper dashboard` makes a new one. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** At most this many live codes and sessions each: an admin script in a loop cannot fill memory. */
const MAX_LIVE = 1000;

export const SESSION_COOKIE = 'apiary_session';
/** Cookie-authenticated requests that change something must carry this header (CSRF, see below). */
export const DASHBOARD_HEADER = 'x-apiary-dashboard';

interface Grant {
  /** The scope of the token that minted the code: it decides whether the page may cancel. */
  minted: Scope;
  tokenId: string;
  expiresAt: number;
}

const secret = () => randomBytes(24).toString('base64url');

/**
 * Dashboard codes and sessions, in memory only (a queen restart logs every browser out, which is
 * fine: `keeper dashboard` is one command). A code is single use: exchange() deletes it first.
 */
export class DashboardSessions {
  readonly #codes = new Map<string, Grant>();
  readonly #sessions = new Map<string, Grant>();

  constructor(private readonly now: () => number = Date.now) {}

  mintCode(p: Principal): { code: string; expiresAt: number } {
    if (p.scope === 'hive') throw new ApiaryError('AUTH_FAILED', 'the join token is only for hives: send a client token');
    if (p.tokenId.startsWith('session:'))
      throw new ApiaryError('FORBIDDEN', 'a dashboard session cannot mint login codes: use a bearer token (keeper dashboard)');
    const code = secret();
    const expiresAt = this.now() + CODE_TTL_MS;
    this.#put(this.#codes, code, { minted: p.scope, tokenId: p.tokenId, expiresAt });
    return { code, expiresAt };
  }

  /** Trade a code for a session id; the same refusal for unknown, used and expired codes (no oracle). */
  exchange(code: string): { id: string; grant: Grant } {
    const g = this.#codes.get(code);
    this.#codes.delete(code);
    if (!g || g.expiresAt <= this.now()) {
      throw new ApiaryError('AUTH_FAILED', 'login code unknown, used or expired: run `keeper dashboard` for a new one');
    }
    const id = secret();
    const grant = { ...g, expiresAt: this.now() + SESSION_TTL_MS };
    this.#put(this.#sessions, id, grant);
    return { id, grant };
  }

  session(id: string): Grant | null {
    const g = this.#sessions.get(id);
    if (!g) return null;
    if (g.expiresAt > this.now()) return g;
    this.#sessions.delete(id);
    return null;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  /** A revoked token takes its codes and sessions with it: a browser keeps no right its token lost. */
  endFor(tokenId: string): number {
    let ended = 0;
    for (const m of [this.#codes, this.#sessions]) {
      for (const [k, g] of m) {
        if (g.tokenId !== tokenId) continue;
        m.delete(k);
        ended++;
      }
    }
    return ended;
  }

  #put(m: Map<string, Grant>, k: string, g: Grant): void {
    const now = this.now();
    for (const [key, v] of m) if (v.expiresAt <= now) m.delete(key);
    // Still full of live entries: drop the oldest (Map keeps insertion order).
    while (m.size >= MAX_LIVE) m.delete(m.keys().next().value as string);
    m.set(k, g);
  }
}

export function canCancel(minted: Scope): boolean {
  return minted === 'submit' || minted === 'admin';
}

export function sessionCookieOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * CSRF: SameSite=Strict already keeps the cookie off cross-site requests; on top, a request that
 * changes something must carry a custom header (a cross-site form cannot set one, and a cross-site
 * fetch that does needs a CORS preflight the queen never grants) and, when the browser sends Origin,
 * come from the queen's own origin.
 */
export function checkSameOrigin(req: FastifyRequest): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  if (req.headers[DASHBOARD_HEADER] !== '1')
    throw new ApiaryError('FORBIDDEN', `a dashboard request that changes something needs the ${DASHBOARD_HEADER}: 1 header`);
  const origin = req.headers.origin;
  if (origin !== undefined && hostOf(origin) !== req.headers.host) throw new ApiaryError('FORBIDDEN', `cross-origin dashboard request from ${origin} refused`);
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * The session cookie as a credential source for auth.ts. A session reads everything; it passes the
 * cancel route with the scope of the token that minted it (so the page cancels exactly when that
 * token could), and nothing else that writes.
 */
export function sessionSource(sessions: DashboardSessions): CredentialSource {
  return (req) => {
    const id = sessionCookieOf(req);
    if (id === undefined) return null;
    const g = sessions.session(id);
    if (!g) throw new ApiaryError('AUTH_FAILED', 'dashboard session expired or unknown: run `keeper dashboard` to log in again');
    checkSameOrigin(req);
    const cancel = req.method === 'DELETE' && req.routeOptions.url === '/v1/tasks/:id';
    return { scope: cancel ? g.minted : 'read', tokenId: `session:${g.tokenId}` };
  };
}
