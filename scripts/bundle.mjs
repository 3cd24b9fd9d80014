#!/usr/bin/env node
// Bundle one service entry into a single ESM file next to its tsc output.
// Why: a one-shot `keeper sql` starts four Node processes in a chain, and module loading
// (zod, fastify, ws: hundreds of small files) was most of each one's start-up time.
// Usage (from a service dir): node ../../scripts/bundle.mjs dist/main.js dist/<name>.bundle.mjs
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle.mjs <entry.js> <outfile.mjs>');
  process.exit(2);
}

await build({
  entryPoints: [entry],
  outfile,
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
  // Native addons and our own entry-path modules (which locate sibling bundles at run time) stay external.
  external: ['@duckdb/node-api', 'better-sqlite3', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate', '@apiary/*/entry'],
  // CommonJS dependencies (ws, fastify) call require() for Node built-ins.
  banner: { js: "import { createRequire as __apiaryRequire } from 'node:module'; const require = __apiaryRequire(import.meta.url);" },
});
