import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiaryError } from '@apiary/protocol';
import { FixedTokens } from '../tokens.js';
import { routeKey, routeNeed, satisfies, type Scope } from './route-scopes.js';

/** Who is calling: the scope their credential grants and a stable id for it (never the secret). */
export interface Principal {
  /** `hive` is the join token: it reaches only the routes the table marks `hive`. */
  scope: Scope | 'hive';
  /** `client` for the client token file, `join` for the join token, else the token's id in the store. */
  tokenId: string;
}

/**
 * One way a request can carry a credential. Returns the principal, null when this source has no
 * credential in the request (the next source is asked), or throws AUTH_FAILED for a credential it
 * recognises but refuses (wrong or revoked). The bearer header is the first source; a dashboard's
 * session cookie can be added as another (see `AuthDeps.sources`).
 */
export type CredentialSource = (req: FastifyRequest) => Principal | null;

/** Scoped tokens made with `keeper token create`; the store compares hashes in constant time. */
export interface TokenVerifier {
  /** The token's principal, null when it is not one of the store's tokens; AUTH_FAILED when revoked. */
  verify(secret: string): Principal | null;
}

export interface AuthDeps {
  /** The client token file's token: scope admin (what every existing client holds). */
  clientToken: string;
  /** The hives' join token: scope hive. */
  joinToken: string;
  tokens?: TokenVerifier;
  /** More credential sources, asked in order after the bearer header. */
  sources?: CredentialSource[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook for every authenticated request (undefined on public routes). */
    principal?: Principal;
  }
}

export function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/** The bearer header: the client token, the join token, or a scoped token from the store. */
export function bearerSource(deps: AuthDeps): CredentialSource {
  // Principals are frozen: one object per fixed token, shared by every request that sends it.
  const fixed = new FixedTokens<Principal>([
    [deps.clientToken, Object.freeze({ scope: 'admin', tokenId: 'client' })],
    [deps.joinToken, Object.freeze({ scope: 'hive', tokenId: 'join' })],
  ]);
  return (req) => {
    const token = bearerOf(req);
    if (token === undefined) return null;
    const known = fixed.match(token);
    if (known) return known;
    const p = deps.tokens?.verify(token);
    if (p) return p;
    throw new ApiaryError('AUTH_FAILED', 'wrong bearer token');
  };
}

/** The caller's principal from the first source that has a credential, or null when none has. */
export function resolvePrincipal(req: FastifyRequest, sources: readonly CredentialSource[]): Principal | null {
  for (const source of sources) {
    const p = source(req);
    if (p) return p;
  }
  return null;
}

/** FORBIDDEN unless the principal's scope reaches `need` (for checks finer than the route table). */
export function requireScope(p: Principal | undefined, need: Scope, what: string): void {
  if (!p || !satisfies(p.scope, need))
    throw new ApiaryError('FORBIDDEN', `${what} needs a token of scope ${need} (this one has ${p?.scope ?? 'none'})`, { need });
}

const ROUTES = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route registered on the app since installAuth (fastify's automatic HEAD twins included). */
export function liveRoutes(app: FastifyInstance): { method: string; url: string }[] {
  return [...(ROUTES.get(app) ?? [])];
}

/**
 * Authenticate every request and check it against the route table (route-scopes.ts). Unknown URLs
 * still need a credential before they get their 404, so the API's shape is not open to probing.
 */
export function installAuth(app: FastifyInstance, deps: AuthDeps): (req: FastifyRequest) => void {
  const sources = [bearerSource(deps), ...(deps.sources ?? [])];
  const routes: { method: string; url: string }[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  // A callback hook, not an async one: no promise and no extra microtask turn per request.
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      authorize(req, sources);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  });
  // The same check for the lean submit path (lean-submit.ts), which fastify's hook never sees.
  return (req) => authorize(req, sources);
}

/** Set req.principal, or throw AUTH_FAILED / FORBIDDEN (see installAuth). */
function authorize(req: FastifyRequest, sources: readonly CredentialSource[]): void {
  const pattern = req.routeOptions.url;
  const need = pattern === undefined ? undefined : routeNeed(req.method, pattern);
  if (need === 'public') return;
  const p = resolvePrincipal(req, sources);
  if (!p) throw new ApiaryError('AUTH_FAILED', 'missing bearer token: send Authorization: Bearer <token>');
  req.principal = p;
  if (pattern === undefined) return; // no such route: the not-found handler answers
  if (need === undefined) throw new ApiaryError('FORBIDDEN', `route ${routeKey(req.method, pattern)} is not classified in the route table: refused`);
  if (!satisfies(p.scope, need)) {
    if (p.scope === 'hive') throw new ApiaryError('AUTH_FAILED', 'the join token is only for hives: send a client token');
    throw new ApiaryError('FORBIDDEN', `${routeKey(req.method, pattern)} needs a token of scope ${need} (this one has ${p.scope})`, { need });
  }
}
