/**
 * THE route table: every HTTP route of the queen and what a caller needs to use it. A route that is
 * not listed here is refused (FORBIDDEN) whatever the token, so a new route must be classified;
 * e2e/scoped-tokens.test.ts fails when the live app has a route this table lacks (or the reverse).
 *
 * - `public`: no token (health checks before a token is known).
 * - `hive`: the join token (hives fetch cells and send partials back); an admin token also passes.
 * - `read` < `submit` < `admin`: a token's scope passes every need at or below it.
 *
 * Frame writes (write by path, upload, drop) need `submit`, not `admin`: a submit token already runs
 * code as the daemon user (a js task can write anything under the data root), so an admin-only rule
 * would pretend to a boundary that does not exist, and would make every data-loading job hold a
 * token that can also stop the queen and mint tokens. See specs/security.md.
 */
export type Scope = 'admin' | 'submit' | 'read';
export type RouteNeed = Scope | 'public' | 'hive';

export const ROUTE_SCOPES: Readonly<Record<string, RouteNeed>> = {
  'GET /v1/health': 'public',
  // The dashboard page and its files (no data in them), and the one-time code exchange (the code is the credential).
  'GET /': 'public',
  'GET /dashboard/app.js': 'public',
  'GET /dashboard/style.css': 'public',
  'POST /v1/dashboard/session': 'public',

  'GET /v1/cells/*': 'hive',
  'PUT /v1/cells/*': 'hive',

  'GET /v1/colony': 'read',
  'GET /v1/hives': 'read',
  'GET /v1/nodes': 'read',
  'GET /v1/events': 'read',
  'GET /v1/tasks': 'read',
  'GET /v1/tasks/:id': 'read',
  'POST /v1/tasks/wait': 'read',
  'GET /v1/frames': 'read',
  'GET /v1/frames/:name': 'read',
  'GET /v1/colony/history': 'read',
  // A read token mints a read-only session; the session passes the cancel route with the minting token's scope (session.ts).
  'POST /v1/dashboard/codes': 'read',
  'GET /v1/dashboard/session': 'read',
  'DELETE /v1/dashboard/session': 'read',
  // Prometheus text; a scraper needs only a read token (or the opt-in tokenless --metrics-port listener).
  'GET /metrics': 'read',
  // Read-only sandbox SQL; `into` (which writes a frame) additionally needs submit, checked in the route.
  'POST /v1/sql': 'read',
  // A running request's progress (x-apiary-request-id); a write's additionally needs submit, checked in the route.
  'GET /v1/progress/:id': 'read',

  'POST /v1/tasks': 'submit',
  'POST /v1/tasks/batch': 'submit',
  // Cancelling the queen's own tasks (parts of a frame write or query) additionally needs admin, checked in the route.
  'DELETE /v1/tasks/:id': 'submit',
  'POST /v1/frames/:name/write': 'submit',
  'PUT /v1/frames/:name/upload': 'submit',
  'DELETE /v1/frames/:name': 'submit',
  // Vacuum deletes only versions past the retention line that no query reads: less than a drop does.
  'POST /v1/frames/vacuum': 'submit',

  'POST /v1/hives/:hive/shutdown': 'admin',
  'PUT /v1/nodes/:name': 'admin',
  'POST /v1/admin/shutdown': 'admin',
  'POST /v1/admin/prune': 'admin',
  'GET /v1/admin/routes': 'admin',
  'GET /v1/admin/tokens': 'admin',
  'POST /v1/admin/tokens': 'admin',
  'DELETE /v1/admin/tokens/:id': 'admin',
};

/** The table's key for a route: HEAD routes are fastify's automatic twins of GET routes. */
export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** What a route needs, or undefined when it is not classified (and so refused). */
export function routeNeed(method: string, url: string): RouteNeed | undefined {
  const key = routeKey(method, url);
  return Object.hasOwn(ROUTE_SCOPES, key) ? ROUTE_SCOPES[key] : undefined;
}

const RANK: Record<Scope, number> = { read: 1, submit: 2, admin: 3 };

/** Whether a principal of `scope` may use a route that needs `need`. */
export function satisfies(scope: Scope | 'hive', need: RouteNeed): boolean {
  if (need === 'public') return true;
  if (need === 'hive') return scope === 'hive' || scope === 'admin';
  return scope !== 'hive' && RANK[scope] >= RANK[need];
}
