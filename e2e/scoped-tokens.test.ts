import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_SCOPES, type RouteNeed } from '../services/queen/src/http/route-scopes.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';
import { rawRequest } from './helpers/raw-http.js';

/**
 * Scoped tokens against a real daemon: every route the live queen serves is in the route table (and
 * the table names no route the queen lacks), and every route answers each kind of credential as its
 * scope says. Tokens are made, listed and revoked with the real keeper CLI.
 */

type Cred = 'none' | 'wrong' | 'join' | 'revoked' | 'read' | 'submit' | 'admin';
const CREDS: readonly Cred[] = ['none', 'wrong', 'join', 'revoked', 'read', 'submit', 'admin'];

/** The expected rule, written out here rather than imported, so the queen's own check is what is tested. */
const RANK = { read: 1, submit: 2, admin: 3 } as const;
function allowed(cred: Cred, need: RouteNeed): boolean {
  if (need === 'public') return true;
  if (cred === 'none' || cred === 'wrong' || cred === 'revoked') return false;
  if (need === 'hive') return cred === 'join' || cred === 'admin';
  if (cred === 'join') return false;
  return RANK[cred] >= RANK[need];
}

/** What the auth hook (http/auth.ts) says when it refuses: told apart from a route's own refusals. */
const AUTH_HOOK_REFUSAL = /bearer token|was revoked|only for hives|needs a token of scope|not classified/;

/** A concrete URL for a route pattern: parameters name nothing that exists, so no allowed probe changes anything. */
function concrete(url: string): string {
  return url.replace(':id', randomUUID()).replace(':name', 'no_such_frame').replace(':hive', 'no-such-hive').replace('*', 'not/a/cell');
}

describe('scoped tokens', () => {
  let d: TestDaemon;
  const tokens: Partial<Record<Cred, string>> = {};

  /** `keeper token create` as an operator runs it: the token alone on stdout. */
  const create = async (scope: string, name?: string) => {
    const r = await keeper(['token', 'create', '--scope', scope, ...(name ? ['--name', name] : [])], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not shown again/);
    return r.stdout.trim();
  };
  const idOf = (token: string) => token.split('_')[1]!;

  beforeAll(async () => {
    d = await TestDaemon.start(['--bees', '1', '--memory-per-bee', '256MiB']);
    await d.waitHives(1);
    tokens.admin = d.token('client');
    tokens.join = d.token('join');
    tokens.wrong = 'x'.repeat(43);
    tokens.read = await create('read', 'probe-read');
    tokens.submit = await create('submit', 'probe-submit');
    tokens.revoked = await create('admin', 'probe-revoked');
    const r = await keeper(['token', 'revoke', idOf(tokens.revoked)], d.home);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    const home = d?.home;
    await d?.stop();
    if (home) expect(pidsWithHome(home)).toEqual([]);
  });

  const routesOfLiveQueen = async () => {
    const r = await rawRequest(`${d.url}/v1/admin/routes`, { method: 'GET', token: tokens.admin });
    expect(r.status).toBe(200);
    return (r.json as { routes: { method: string; url: string; need: RouteNeed | null }[] }).routes;
  };

  it('every route of the live queen is in the route table, and the table lists no route the queen lacks', async () => {
    const live = await routesOfLiveQueen();
    const key = (method: string, url: string) => `${method === 'HEAD' ? 'GET' : method} ${url}`;
    const unclassified = live.filter((r) => !Object.hasOwn(ROUTE_SCOPES, key(r.method, r.url)));
    expect(unclassified, 'add these routes to services/queen/src/http/route-scopes.ts').toEqual([]);
    expect(live.every((r) => r.need !== null)).toBe(true);
    const served = new Set(live.map((r) => key(r.method, r.url)));
    expect(Object.keys(ROUTE_SCOPES).filter((k) => !served.has(k))).toEqual([]);
    // The security-critical rows, pinned: a change to them must be deliberate.
    for (const [k, need] of Object.entries(ROUTE_SCOPES)) if (k.split(' ')[1]!.startsWith('/v1/admin/')) expect(need, k).toBe('admin');
    expect(ROUTE_SCOPES['POST /v1/tasks']).toBe('submit');
    expect(ROUTE_SCOPES['POST /v1/tasks/batch']).toBe('submit');
    expect(ROUTE_SCOPES['POST /v1/hives/:hive/shutdown']).toBe('admin');
    expect(ROUTE_SCOPES['PUT /v1/nodes/:name']).toBe('admin');
    expect(ROUTE_SCOPES['GET /v1/health']).toBe('public');
  });

  it('every route answers each credential as the table says: 401 without a valid token, 403 FORBIDDEN naming the scope when it is short', async () => {
    const live = await routesOfLiveQueen();
    expect(live.length).toBeGreaterThan(20);
    const failures: string[] = [];
    const getMessages = new Map<string, string>();
    // GET routes before their HEAD twins, so a HEAD answer can borrow its twin's message.
    live.sort((a, b) => (a.method === 'HEAD' ? 1 : 0) - (b.method === 'HEAD' ? 1 : 0));
    for (const route of live) {
      const need = ROUTE_SCOPES[`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`]!;
      for (const cred of CREDS) {
        // A JSON array matches no body schema: an allowed request stops at validation (or at a
        // missing frame/task/hive) and changes nothing; a refused one stops at the auth hook.
        const hasBody = route.method === 'POST' || route.method === 'PUT';
        const r = await rawRequest(d.url + concrete(route.url), { method: route.method, token: tokens[cred] ?? null, body: hasBody ? '[]' : undefined });
        const what = `${route.method} ${route.url} with ${cred} (needs ${need}): ${r.status} ${JSON.stringify(r.json)}`;
        // A HEAD answer has no body: its status is all there is to check (its message is its GET twin's).
        const code = (c: string) => route.method === 'HEAD' || r.json?.code === c;
        const message = route.method === 'HEAD' ? getMessages.get(`${route.url} ${cred}`) : String(r.json?.message ?? '');
        if (route.method === 'GET') getMessages.set(`${route.url} ${cred}`, String(r.json?.message ?? ''));
        if (allowed(cred, need)) {
          // A route may refuse for its own reasons (the dashboard's session-only routes); the auth hook must not.
          if ((r.status === 401 || r.status === 403) && (message === undefined || AUTH_HOOK_REFUSAL.test(message))) failures.push(`refused: ${what}`);
        } else if (['none', 'wrong', 'join', 'revoked'].includes(cred)) {
          if (r.status !== 401 || !code('AUTH_FAILED')) failures.push(`not 401: ${what}`);
        } else if (r.status !== 403 || !code('FORBIDDEN') || (route.method !== 'HEAD' && !String(r.json?.message).includes(`scope ${need}`))) {
          failures.push(`not 403: ${what}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('read tokens get only sandboxed frame SQL: plain SQL (a file read) and `into` are FORBIDDEN; submit may; cancelling the queen’s own tasks needs admin', async () => {
    const sql = (token: string, body: object) => rawRequest(`${d.url}/v1/sql`, { method: 'POST', token, body: JSON.stringify(body) });
    const csv = path.join(d.home, 'scores.csv');
    writeFileSync(csv, 'id,score\n1,10\n2,20\n3,30\n');
    const w = await rawRequest(`${d.url}/v1/frames/scores/write`, { method: 'POST', token: tokens.submit, body: JSON.stringify({ path: csv, format: 'csv' }) });
    expect(w.status, JSON.stringify(w.json)).toBe(200);

    const over = await sql(tokens.read!, { sql: 'SELECT sum(score) AS s FROM scores' });
    expect(over.status, JSON.stringify(over.json)).toBe(200);
    expect(over.json?.rows).toEqual([{ s: 60 }]);

    // The attack: a read token reading the admin token file through plain SQL.
    const tokenFile = path.join(d.home, 'tokens', 'client.token');
    for (const body of [{ sql: `SELECT content FROM read_text('${tokenFile}')` }, { sql: 'SELECT 1 AS one' }]) {
      const r = await sql(tokens.read!, body);
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ code: 'FORBIDDEN', details: { need: 'submit' } });
    }
    const into = await sql(tokens.read!, { sql: 'SELECT * FROM scores', into: 'copy_of_scores' });
    expect(into.status).toBe(403);
    expect(into.json).toMatchObject({ code: 'FORBIDDEN', details: { need: 'submit' } });
    const plain = await sql(tokens.submit!, { sql: 'SELECT 1 AS one' });
    expect(plain.status).toBe(200);
    expect(plain.json?.rows).toEqual([{ one: 1 }]);

    // The write's own tasks (kind write) are the queen's: submit may not cancel them, admin may.
    const list = await rawRequest(`${d.url}/v1/tasks?limit=100`, { method: 'GET', token: tokens.read });
    const own = ((list.json?.tasks ?? []) as { id: string; kind: string }[]).find((t) => t.kind === 'write');
    expect(own).toBeDefined();
    const bySubmit = await rawRequest(`${d.url}/v1/tasks/${own!.id}`, { method: 'DELETE', token: tokens.submit });
    expect(bySubmit.status).toBe(403);
    expect(bySubmit.json).toMatchObject({ code: 'FORBIDDEN', details: { need: 'admin' } });
    expect((await rawRequest(`${d.url}/v1/tasks/${own!.id}`, { method: 'DELETE', token: tokens.admin })).status).toBe(200);
    const mine = await rawRequest(`${d.url}/v1/tasks`, {
      method: 'POST',
      token: tokens.submit,
      body: JSON.stringify({ spec: { kind: 'sql', sql: 'SELECT 1' } }),
    });
    expect((await rawRequest(`${d.url}/v1/tasks/${mine.json?.id}`, { method: 'DELETE', token: tokens.submit })).status).toBe(200);
  });

  it('keeper token create / list / revoke: the secret is shown once and stored only as a hash; a revoked token fails at once', async () => {
    const secret = await create('read', 'ci-reader');
    expect(secret).toMatch(/^apy_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const id = idOf(secret);

    const used = await rawRequest(`${d.url}/v1/colony`, { method: 'GET', token: secret });
    expect(used.status).toBe(200);

    const list = await keeper(['token', 'list'], d.home);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+│\\s+ci-reader\\s+│\\s+read\\s`));
    expect(list.stdout).not.toContain(secret.split('_').slice(2).join('_'));
    const json = await keeper(['token', 'list', '--json'], d.home);
    const row = (JSON.parse(json.stdout) as { id: string; lastUsedAt: number | null }[]).find((t) => t.id === id);
    expect(row?.lastUsedAt).toBeGreaterThan(0);
    expect(json.stdout).not.toContain(secret);

    // On disk: the sha256 of the token, never the token.
    const db = new Database(path.join(d.home, 'queen.db'), { readonly: true, fileMustExist: true });
    try {
      const stored = db.prepare('SELECT hash FROM api_tokens WHERE id = ?').get(id) as { hash: Buffer };
      const { createHash } = await import('node:crypto');
      expect(stored.hash.equals(createHash('sha256').update(secret).digest())).toBe(true);
    } finally {
      db.close();
    }

    const revoke = await keeper(['token', 'revoke', id], d.home);
    expect(revoke.exitCode, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`revoked token ${id} "ci-reader"`);
    const after = await rawRequest(`${d.url}/v1/colony`, { method: 'GET', token: secret });
    expect(after.status).toBe(401);
    expect(after.json).toMatchObject({ code: 'AUTH_FAILED', message: `token ${id} was revoked` });
    expect((await keeper(['token', 'list'], d.home)).stdout).not.toContain(id);

    const again = await keeper(['token', 'revoke', id], d.home);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('TOKEN_NOT_FOUND');
    const bad = await keeper(['token', 'create', '--scope', 'root'], d.home);
    expect(bad.exitCode).toBe(2);
  });

  it('a scoped token is not an admin token: a submit token cannot manage tokens through keeper either', async () => {
    const r = await keeper(['token', 'create', '--scope', 'admin', '--queen', d.url], d.home, { env: { APIARY_TOKEN: tokens.submit! } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/FORBIDDEN: POST \/v1\/admin\/tokens needs a token of scope admin \(this one has submit\)/);
  });
});
