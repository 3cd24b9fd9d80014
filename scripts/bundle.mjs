#!/usr/bin/env node
// Bundle one service entry into a single ESM file next to its tsc output.
// Why: a one-shot `keeper sql` starts four Node processes in a chain, and module loading
// (zod, fastify, ws: hundreds of small files) was most of each one's start-up time.
// Usage (from a service dir): node ../../scripts/bundle.mjs dist/main.js dist/<name>.bundle.mjs [--split]
// --split: code behind a dynamic import() goes into chunks beside the bundle (dist/chunks/), loaded
// only when used (the keeper: the queen and hive it hosts for a one-shot run; ssh2 for cluster).
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const [entry, outfile, flag] = process.argv.slice(2);
if (!entry || !outfile || (flag !== undefined && flag !== '--split')) {
  console.error('usage: bundle.mjs <entry.js> <outfile.mjs> [--split]');
  process.exit(2);
}
const split = flag === '--split';
const outdir = path.dirname(outfile);
if (split) pruneOldChunks(path.join(outdir, 'chunks'));

/**
 * Chunks of older builds, once they are an hour old. Not all at once: a keeper started just before
 * this build still imports its (content-hashed) chunks lazily, and must find them.
 */
function pruneOldChunks(dir) {
  const cutoff = Date.now() - 3_600_000;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const f = path.join(dir, n);
    if (statSync(f).mtimeMs < cutoff) rmSync(f, { force: true });
  }
}

/**
 * zod's error messages in ~60 languages are half of its bundled size, compiled by every process that
 * loads zod (a one-shot keeper, the queen, the hive); only English, zod's default, is ever used. zod's
 * `locales` namespace resolves to a module exporting `en` alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (a) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: path.join(path.dirname(a.importer), '../locales/en.js'), namespace: 'zod-en' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, (a) => ({
      contents: `export { default as en } from ${JSON.stringify(a.path)};`,
      resolveDir: path.dirname(a.path),
    }));
  },
};

/**
 * Packages fastify requires only for what apiary never asks of it, left out of the bundles (~550 KB of
 * source V8 would parse at every queen start): its default ajv validator and fast-json-stringify
 * serializer compilers (the queen gives fastify its own, route-schema.ts ROUTE_SCHEMA_CONTROLLER)
 * and light-my-request (fastify.inject, used only by unit tests, which run unbundled). Each becomes a
 * module that throws, saying so, if it is ever required after all.
 */
const LEFT_OUT = ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'];
const leaveOut = {
  name: 'leave-out',
  setup(b) {
    const filter = new RegExp(`^(${LEFT_OUT.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is left out of apiary's bundles (scripts/bundle.mjs LEFT_OUT)`)});`,
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: split ? { [path.basename(outfile, '.mjs')]: entry } : [entry],
  ...(split ? { outdir, splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' } } : { outfile }),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Full minification: V8 compiles the whole ESM bundle at start-up, so its size is start-up time
  // (the queen's 2 MB took ~70 ms to compile). keepNames keeps function names for stack traces.
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [zodEnglishOnly, leaveOut],
  // Native addons and our own entry-path modules (which locate sibling bundles at run time) stay external.
  external: ['@duckdb/node-api', 'better-sqlite3', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate', '@apiary/*/entry'],
  // CommonJS dependencies (ws, fastify) call require() for Node built-ins.
  banner: { js: "import { createRequire as __apiaryRequire } from 'node:module'; const require = __apiaryRequire(import.meta.url);" },
});
