import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiaryError, DashboardLogin, validate, type ColonyHistoryView, type DashboardCode, type DashboardSessionView } from '@apiary/protocol';
import { ColonyHistory } from '../colony-history.js';
import { DASHBOARD_DIR } from '../dashboard-assets.js';
import type { Scheduler } from '../tasks/scheduler.js';
import type { ColonyRouteDeps } from './routes-colony.js';
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
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps, sessions: DashboardSessions): void {
  const dir = deps.dashboardDir ?? DASHBOARD_DIR;
  const cache = new Map<string, Buffer>();
  const history = new ColonyHistory(deps.scheduler, deps.colony);
  app.addHook('onClose', async () => history.close());

  for (const [url, asset] of Object.entries(ASSETS)) {
    app.get(url, async (_req, reply) => {
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
    });
  }

  app.post('/v1/dashboard/codes', async (req): Promise<DashboardCode> => {
    if (!req.principal) throw new ApiaryError('AUTH_FAILED', 'missing bearer token');
    const { code, expiresAt } = sessions.mintCode(req.principal);
    return { code, path: `/#code=${code}`, expiresAt };
  });

  app.post('/v1/dashboard/session', async (req, reply): Promise<DashboardSessionView> => {
    checkSameOrigin(req);
    const { code } = validate(DashboardLogin, req.body, 'login');
    const { id, grant } = sessions.exchange(code);
    void reply.header('set-cookie', cookie(req, id, SESSION_TTL_MS / 1000));
    return { scope: 'read', canCancel: canCancel(grant.minted), expiresAt: grant.expiresAt };
  });

  app.get('/v1/dashboard/session', async (req): Promise<DashboardSessionView> => {
    const g = current(req, sessions);
    return { scope: 'read', canCancel: canCancel(g.minted), expiresAt: g.expiresAt };
  });

  app.delete('/v1/dashboard/session', async (req, reply) => {
    const id = sessionCookieOf(req);
    if (id !== undefined) sessions.end(id);
    void reply.header('set-cookie', cookie(req, '', 0));
    return { ok: true };
  });

  app.get('/v1/colony/history', async (): Promise<ColonyHistoryView> => ({ intervalMs: history.intervalMs, samples: history.samples() }));
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
