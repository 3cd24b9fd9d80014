#!/usr/bin/env node
// Bundle one service entry into a single ESM file next to its tsc output.
// Why: a one-shot `keeper sql` starts four Node processes in a chain, and module loading
// (zod, fastify, ws: hundreds of small files) was most of each one's start-up time.
// Usage (from a service dir): node ../../scripts/bundle.mjs dist/main.js dist/<name>.bundle.mjs [--split|--cached]
// --split: code behind a dynamic import() goes into chunks beside the bundle (dist/chunks/), loaded
// only when used (the keeper: the queen and hive it hosts for a one-shot run; ssh2 for cluster).
// --cached: the keeper's second stage as one CommonJS function expression for keeper/src/code-cache.ts
// (run through vm.Script with V8's code cache), ending in a line with the sha256 of the build.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const [entry, outfile, flag] = process.argv.slice(2);
if (!entry || !outfile || (flag !== undefined && flag !== '--split' && flag !== '--cached')) {
  console.error('usage: bundle.mjs <entry.js> <outfile> [--split|--cached]');
  process.exit(2);
}
const split = flag === '--split';
const cached = flag === '--cached';
const outdir = path.dirname(outfile);

/**
 * After a --split build: the files in dist/chunks this build did not write (older builds' chunks, by
 * content hash). A keeper that is running needs none of them: its first stage imported its chunks as
 * it started, and its commands run from keeper-main.cjs, read whole at start (the chunks' own copy of
 * them is only the fallback). Only files directly in that dir, and only .mjs and their maps.
 */
function removeStaleChunks(dir, written) {
  for (const n of readdirSync(dir)) {
    const f = path.join(dir, n);
    if (/\.mjs(\.map)?$/.test(n) && !written.has(f) && statSync(f).isFile()) rmSync(f, { force: true });
  }
}

/** After a --cached build: the code caches of the bundle's earlier builds beside it (code-cache.ts names them `<bundle>.<hash>.…`). */
function removeStaleCodeCaches(bundle, hash) {
  const base = path.basename(bundle);
  for (const n of readdirSync(path.dirname(bundle))) {
    if (n.startsWith(`${base}.`) && n.endsWith('.v8cache') && !n.startsWith(`${base}.${hash.slice(0, 32)}.`))
      rmSync(path.join(path.dirname(bundle), n), { force: true });
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

/**
 * --cached: the keeper's early start ran in its first stage (keeper.bundle.mjs); this bundle must use
 * that stage's instances of early-start.js and hive's early-bee.js (the early bee's state), which
 * keeper/src/handover.ts leaves in one globalThis slot under these names.
 */
const HANDOVER_KEY = 'apiary.keeper.handover';
const handover = {
  name: 'handover',
  setup(b) {
    const byPath = new Map([
      [path.resolve(path.dirname(entry), 'early-start.js'), 'earlyStart'],
      [createRequire(path.resolve(entry)).resolve('@apiary/hive/early-bee'), 'earlyBee'],
    ]);
    b.onResolve({ filter: /(^@apiary\/hive\/early-bee$|[\\/]early-(bee|start)\.js$)/ }, (a) => {
      const name = a.path === '@apiary/hive/early-bee' ? 'earlyBee' : byPath.get(path.resolve(a.resolveDir, a.path));
      return name ? { path: name, namespace: 'handover' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'handover' }, (a) => ({
      contents: `const h = globalThis[Symbol.for(${JSON.stringify(HANDOVER_KEY)})];
if (!h) throw new Error(${JSON.stringify("this bundle runs only from the keeper's first stage (no early-start handover)")});
module.exports = h.${a.path};`,
      loader: 'js',
    }));
  },
};

/**
 * --cached: our own entry-path modules (`@apiary/<service>/entry`) locate their service's bundle from
 * import.meta.url, and are ESM, which require() cannot load on Node 20. Bundled in instead, with their
 * import.meta.url taken from where Node resolves them at run time.
 */
const entryPaths = {
  name: 'entry-paths',
  setup(b) {
    b.onResolve({ filter: /^@apiary\/[^/]+\/entry$/ }, (a) =>
      a.kind === 'require-resolve'
        ? { path: a.path, external: true }
        : { path: createRequire(a.importer).resolve(a.path), namespace: 'apiary-entry', pluginData: a.path },
    );
    b.onLoad({ filter: /.*/, namespace: 'apiary-entry' }, (a) => ({
      contents: readFileSync(a.path, 'utf8').replaceAll(
        'import.meta.url',
        `require('node:url').pathToFileURL(require.resolve(${JSON.stringify(a.pluginData)})).href`,
      ),
      resolveDir: path.dirname(a.path),
      loader: 'js',
    }));
  },
};

const EXTERNAL = ['@duckdb/node-api', 'better-sqlite3', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate'];

if (cached) {
  const r = await build({
    entryPoints: [entry],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // No import() in code run by vm.Script: Node 20 before 20.12 has no loader for it there.
    supported: { 'dynamic-import': false },
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [zodEnglishOnly, leaveOut, handover, entryPaths],
    external: EXTERNAL,
    // The parameters keeper/src/code-cache.ts calls the function with; strict, as the ESM it was built from.
    define: { 'import.meta.url': '__apiaryMetaUrl' },
    banner: { js: '(function (exports, require, module, __filename, __dirname, __apiaryMetaUrl) {"use strict";' },
    footer: { js: '})' },
  });
  for (const f of r.outputFiles) {
    if (f.path !== path.resolve(outfile)) writeFileSync(f.path, f.contents);
    else if (/\bimport\(/.test(f.text)) throw new Error(`${outfile}: an import() was left in (vm.Script cannot run it on Node 20.0)`);
    else {
      const hash = createHash('sha256').update(f.text).digest('hex');
      writeFileSync(f.path, `${f.text}// apiary-bundle-hash ${hash}\n`);
      removeStaleCodeCaches(f.path, hash);
    }
  }
  process.exit(0);
}

const result = await build({
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
  external: [...EXTERNAL, '@apiary/*/entry'],
  // CommonJS dependencies (ws, fastify) call require() for Node built-ins.
  banner: { js: "import { createRequire as __apiaryRequire } from 'node:module'; const require = __apiaryRequire(import.meta.url);" },
  metafile: split,
});
if (split) removeStaleChunks(path.resolve(outdir, 'chunks'), new Set(Object.keys(result.metafile.outputs).map((o) => path.resolve(o))));
