import type { FastifyInstance } from 'fastify';
import { CreatedToken, CreateTokenRequest, RouteTable, TokenInfo, TokenList, WireErrorSchema } from '@apiary/protocol';
import { z } from 'zod';
import type { TokenStore } from '../auth/token-store.js';
import { liveRoutes } from './auth.js';
import { routeNeed } from './route-scopes.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';

/**
 * Token management (`keeper token create/list/revoke`) and the route table as this queen serves it;
 * all admin-only (route-scopes.ts). A created token's secret is in that one response and nowhere else.
 */
export function registerTokenRoutes(fastify: FastifyInstance, deps: { tokens: TokenStore }, onRevoke: (tokenId: string) => void = () => {}): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const create = {
    summary: 'Create a scoped token; the secret is in this response only',
    body: part(CreateTokenRequest, { what: 'token request', emptyAs: {} }),
    response: { 201: CreatedToken },
  };
  app.post('/v1/admin/tokens', { schema: create }, async (req, reply) => reply.status(201).send(deps.tokens.create(req.body.scope, req.body.name)));

  const list = { summary: 'Tokens not revoked (never their secrets)', response: { 200: TokenList } };
  app.get('/v1/admin/tokens', { schema: list }, async () => ({ tokens: deps.tokens.list() }));

  const revoke = {
    summary: 'Revoke a token',
    params: z.object({ id: z.string() }),
    response: { 200: TokenInfo, 404: described(WireErrorSchema, 'TOKEN_NOT_FOUND') },
  };
  app.delete('/v1/admin/tokens/:id', { schema: revoke }, async (req) => {
    const revoked = deps.tokens.revoke(req.params.id);
    onRevoke(revoked.id);
    return revoked;
  });

  app.get(
    '/v1/admin/routes',
    { schema: { summary: 'Every route this queen serves and the scope it needs', response: { 200: RouteTable } } },
    async (): Promise<RouteTable> => ({
      routes: liveRoutes(app).map((r) => ({ ...r, need: routeNeed(r.method, r.url) ?? null })),
    }),
  );
}
