import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiaryError, ColonyHistoryView, DashboardCode, DashboardLogin, DashboardSessionView, WireErrorSchema } from '@apiary/protocol';
import { z } from 'zod';
import { ColonyHistory } from '../colony-history.js';
import { DASHBOARD_DIR } from '../dashboard-assets.js';
import type { Scheduler } from '../tasks/scheduler.js';
import type { ColonyRouteDeps } from './routes-colony.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';
import { canCancel, checkSameOrigin, type DashboardSessions, SESSION_COOKIE, SESSION_TTL_MS, sessionCookieOf } from './session.js';

/** The page's files, by URL: nothing else under the assets dir is served. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Only our own files, no inline script, no framing: the page holds a session that can cancel tasks. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface DashboardDeps {
  scheduler: Scheduler;
  colony: ColonyRouteDeps['colony'];
  /** Tests point this at their own build; the queen serves dist/dashboard/. */
  dashboardDir?: string;
}

/**
 * The dashboard (specs/dashboard.md): its static page at / and /dashboard/*, the one-time code
 * exchange, and the colony history the charts start from.
 */
export function registerDashboardRoutes(fastify: FastifyInstance, deps: DashboardDeps, sessions: DashboardSessions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const dir = deps.dashboardDir ?? DASHBOARD_DIR;
  const cache = new Map<string, Buffer>();
  const history = new ColonyHistory(deps.scheduler, deps.colony);
  app.addHook('onClose', async () => history.close());

  for (const [url, asset] of Object.entries(ASSETS)) {
    app.get(
      url,
      { schema: { summary: `The dashboard's ${asset.file} (static)`, produces: { 200: { type: asset.type, description: asset.file } } } },
      async (_req, reply) => {
        let body = cache.get(asset.file);
        if (!body) {
          try {
            body = readFileSync(path.join(dir, asset.file));
          } catch {
            throw new ApiaryError('INTERNAL', `dashboard file ${asset.file} is missing from ${dir}: build the queen (npm run build)`);
          }
          cache.set(asset.file, body);
        }
        return reply
          .header('content-type', asset.type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .send(body);
      },
    );
  }

  const codes = {
    summary: 'A one-time dashboard login code (60 s, single use) for the caller (keeper dashboard)',
    response: { 200: DashboardCode, 403: described(WireErrorSchema, 'FORBIDDEN: a dashboard session cannot mint codes') },
  };
  app.post('/v1/dashboard/codes', { schema: codes }, async (req): Promise<DashboardCode> => {
    if (!req.principal) throw new ApiaryError('AUTH_FAILED', 'missing bearer token');
    const { code, expiresAt } = sessions.mintCode(req.principal);
    return { code, path: `/#code=${code}`, expiresAt };
  });

  const login = {
    summary: 'Exchange a one-time code for the HttpOnly SameSite=Strict session cookie (needs the x-apiary-dashboard: 1 header)',
    body: part(DashboardLogin, 'login'),
    response: {
      200: DashboardSessionView,
      401: described(WireErrorSchema, 'AUTH_FAILED: code unknown, used or expired'),
      403: described(WireErrorSchema, 'FORBIDDEN: no x-apiary-dashboard header, or another origin'),
    },
  };
  // The origin check comes first, as before: a foreign page learns nothing from the body's errors.
  const sameOrigin = async (req: FastifyRequest) => checkSameOrigin(req);
  app.post('/v1/dashboard/session', { schema: login, preValidation: sameOrigin }, async (req, reply): Promise<DashboardSessionView> => {
    const { code } = req.body;
    const { id, grant } = sessions.exchange(code);
    void reply.header('set-cookie', cookie(req, id, SESSION_TTL_MS / 1000));
    return { scope: 'read', canCancel: canCancel(grant.minted), expiresAt: grant.expiresAt };
  });

  const session = { summary: "The cookie's session: what the page may do", response: { 200: DashboardSessionView } };
  app.get('/v1/dashboard/session', { schema: session }, async (req): Promise<DashboardSessionView> => {
    const g = current(req, sessions);
    return { scope: 'read', canCancel: canCancel(g.minted), expiresAt: g.expiresAt };
  });

  const logout = { summary: 'Log out: end the session and clear the cookie', response: { 200: z.object({ ok: z.literal(true) }) } };
  app.delete('/v1/dashboard/session', { schema: logout }, async (req, reply) => {
    const id = sessionCookieOf(req);
    if (id !== undefined) sessions.end(id);
    void reply.header('set-cookie', cookie(req, '', 0));
    return { ok: true as const };
  });

  const historySchema = {
    summary: 'The last 10 minutes of colony samples (every 5 s): queue depth, running, tasks finished, temperature',
    response: { 200: ColonyHistoryView },
  };
  app.get(
    '/v1/colony/history',
    { schema: historySchema },
    async (): Promise<ColonyHistoryView> => ({ intervalMs: history.intervalMs, samples: history.samples() }),
  );
}

function current(req: FastifyRequest, sessions: DashboardSessions) {
  const id = sessionCookieOf(req);
  const g = id === undefined ? null : sessions.session(id);
  if (!g) throw new ApiaryError('AUTH_FAILED', 'no dashboard session: run `keeper dashboard` to log in');
  return g;
}

/** HttpOnly: page scripts never see it; Strict: no cross-site request carries it; Secure under TLS. */
function cookie(req: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(maxAgeS)}${secure}`;
}
