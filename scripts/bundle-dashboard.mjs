#!/usr/bin/env node
// Build the queen's web dashboard: one browser bundle (app.js) plus the page and its stylesheet,
// copied as they are. No framework, no CDN: the page works offline and stays small.
// Usage (from services/queen): node ../../scripts/bundle-dashboard.mjs src/dashboard dist/dashboard
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: bundle-dashboard.mjs <src dir> <out dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(src, 'app.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(path.join(src, f), path.join(out, f));
const total = ['app.js', 'index.html', 'style.css'].reduce((n, f) => n + statSync(path.join(out, f)).size, 0);
if (process.env.APIARY_VERBOSE_BUILD) console.log(`dashboard: ${total} bytes in ${out}`);
