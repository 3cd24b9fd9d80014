import type { FastifyInstance } from 'fastify';
import { CreateTokenRequest, type RouteTable, validate } from '@apiary/protocol';
import type { TokenStore } from '../auth/token-store.js';
import { liveRoutes } from './auth.js';
import { routeNeed } from './route-scopes.js';

/**
 * Token management (`keeper token create/list/revoke`) and the route table as this queen serves it;
 * all admin-only (route-scopes.ts). A created token's secret is in that one response and nowhere else.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: { tokens: TokenStore }, onRevoke: (tokenId: string) => void = () => {}): void {
  app.post('/v1/admin/tokens', async (req, reply) => {
    const body = validate(CreateTokenRequest, req.body ?? {}, 'token request');
    return reply.status(201).send(deps.tokens.create(body.scope, body.name));
  });

  app.get('/v1/admin/tokens', async () => ({ tokens: deps.tokens.list() }));

  app.delete<{ Params: { id: string } }>('/v1/admin/tokens/:id', async (req) => {
    const revoked = deps.tokens.revoke(req.params.id);
    onRevoke(revoked.id);
    return revoked;
  });

  app.get(
    '/v1/admin/routes',
    async (): Promise<RouteTable> => ({
      routes: liveRoutes(app).map((r) => ({ ...r, need: routeNeed(r.method, r.url) ?? null })),
    }),
  );
}
