#!/usr/bin/env node
// Generate specs/openapi.json from the queen's live routes: build the app (stub dependencies, no
// listener), read every route's schema as fastify registered it (the protocol's zod schemas, see
// services/queen/src/http/route-schema.ts) and the scope table. A route added to the app is in the
// document without a line here. `node scripts/openapi.mjs --check` exits 1 when the file is stale.
// Needs the queen's tsc output (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { WireErrorSchema } from '@apiary/protocol';

const dist = (f) => new URL(`../services/queen/dist/http/${f}`, import.meta.url).href;
const { buildApp } = await import(dist('app.js'));
const { routeDocs } = await import(dist('route-schema.js'));
const { routeNeed } = await import(dist('route-scopes.js'));

const out = fileURLToPath(new URL('../specs/openapi.json', import.meta.url));
const schema = (s) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (s) => ({ content: { 'application/json': { schema: schema(s) } } });
const error = (description) => ({ description, ...json(WireErrorSchema) });

/** Registering the routes calls no dependency; anything reached while building gets a no-op. */
const noop = new Proxy(() => {}, { get: (_t, k) => (k === 'then' ? undefined : noop), apply: () => noop });
const absent = new Set(['tls', 'log', 'sources', 'dashboardDir', 'maxPartialBytes']);
const deps = new Proxy(
  { maxBodyBytes: 10 * 1024 * 1024, clientToken: 'openapi-stub', joinToken: 'openapi-stub-join' },
  { get: (t, k) => (k in t ? t[k] : absent.has(k) ? undefined : noop) },
);
const app = buildApp(deps);
await app.ready();
const routes = [...routeDocs(app)];
await app.close();

/** fastify's /v1/tasks/:id and /v1/cells/* as OpenAPI paths. */
const pathOf = (url) => url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}');

function parameters(r) {
  const out = [];
  const add = (s, where) => {
    if (!s) return;
    const js = schema(s);
    for (const [name, p] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = p;
      out.push({
        name,
        in: where,
        ...(where === 'path' || js.required?.includes(name) ? { required: true } : {}),
        schema: rest,
        ...(description ? { description } : {}),
      });
    }
  };
  add(r.schema.params, 'path');
  if (r.url.endsWith('*')) out.push({ name: 'path', in: 'path', required: true, schema: { type: 'string' } });
  add(r.schema.querystring, 'query');
  add(r.schema.headers, 'header');
  return out;
}

function responses(r, need) {
  const res = {};
  // The errors every route of its kind can answer (errors.ts, auth.ts), unless the route says more.
  if (r.schema.params || r.schema.querystring || r.schema.body || r.schema.headers)
    res[400] = error('BAD_REQUEST: a parameter or body that does not match the schema (or malformed JSON)');
  if (need !== 'public') {
    res[401] = error('AUTH_FAILED: missing, wrong or revoked bearer token');
    res[403] = error('FORBIDDEN: the token is valid but its scope does not reach this route (see specs/security.md)');
  }
  if (r.schema.body) res[413] = error('PAYLOAD_TOO_LARGE: body over the limit (10 MiB by default)');
  for (const [status, p] of Object.entries(r.schema.produces ?? {})) res[status] = { description: p.description, content: { [p.type]: {} } };
  for (const [status, s] of Object.entries(r.schema.response ?? {})) {
    res[status] = { description: s.description ?? (Number(status) < 300 ? 'ok' : 'error'), ...json(s) };
  }
  return res;
}

const NEEDS = { hive: 'Needs the join token (or admin).', read: 'Needs scope read.', submit: 'Needs scope submit.', admin: 'Needs scope admin.' };
const paths = {};
for (const r of routes.sort((a, b) => (a.url === b.url ? a.method.localeCompare(b.method) : a.url.localeCompare(b.url)))) {
  const need = routeNeed(r.method, r.url);
  const op = { summary: r.schema.summary ?? `${r.method} ${r.url}` };
  if (need === 'public') op.security = [];
  else if (need) op.description = NEEDS[need];
  const params = parameters(r);
  if (params.length > 0) op.parameters = params;
  if (r.schema.body) op.requestBody = json(r.schema.body);
  else if (r.schema.accepts) op.requestBody = { content: { [r.schema.accepts]: { schema: { type: 'string', format: 'binary' } } } };
  op.responses = responses(r, need);
  const path = pathOf(r.url);
  paths[path] = { ...paths[path], [r.method.toLowerCase()]: op };
}
// Not a fastify route: the hives' WebSocket is an upgrade on the same server (hives/hive-gateway.ts).
paths['/v1/hive'] = {
  get: { summary: 'WebSocket upgrade for hives (see specs/protocol.md)', security: [], responses: { 101: { description: 'switching protocols' } } },
};

const doc = {
  openapi: '3.1.0',
  info: { title: 'apiary queen API', version: '1', description: "Generated from the queen's routes by scripts/openapi.mjs. Do not edit by hand." },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths,
};

const text = JSON.stringify(doc, null, 2) + '\n';
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('specs/openapi.json is out of date: run `npm run openapi`');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
