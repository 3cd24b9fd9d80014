import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleHash, type CacheKey, cacheFileName } from '../src/code-cache.js';

/*
 * The keeper's second stage runs through V8's code cache (src/code-cache.ts). Each run here is a
 * real Node process loading a bundle with the built loader (dist/code-cache.js: build first), since
 * the cache is written as the process exits.
 */
const LOADER = pathToFileURL(fileURLToPath(new URL('../dist/code-cache.js', import.meta.url))).href;
const KEY: CacheKey = { nodeVersion: process.version, arch: process.arch };

let dir = '';
let bundle = '';

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-code-cache-'));
  bundle = path.join(dir, 'b.cjs');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A bundle as scripts/bundle.mjs --cached writes it, whose answer() returns `n` (same length for any one-digit n). */
function writeBundle(n: number, hashed = true): string {
  const code = `(function (exports, require, module, __filename, __dirname, __apiaryMetaUrl) {"use strict";
exports.answer = function () { return ${n}; }; exports.answer();
})
`;
  const hash = createHash('sha256').update(code).digest('hex');
  writeFileSync(bundle, hashed ? `${code}// apiary-bundle-hash ${hash}\n` : code);
  return hash;
}

/** One process that loads the bundle and calls its answer(); what it saw of the cache. */
function load(o: { dirs?: string[]; key?: CacheKey; save?: boolean; exitCode?: number } = {}): { cache: string; answer: number } {
  const script = `const { loadCachedBundle } = await import(${JSON.stringify(LOADER)});
const b = loadCachedBundle(${JSON.stringify(bundle)}, ${JSON.stringify({ dirs: o.dirs ?? [dir], key: o.key })});
if (${o.save ?? true}) b.saveAtExit();
process.stdout.write(JSON.stringify({ cache: b.cache, answer: b.exports.answer() }));
process.exitCode = ${o.exitCode ?? 0};`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(o.exitCode ?? 0);
  return JSON.parse(r.stdout);
}

const caches = (d: string) => readdirSync(d).filter((n) => n.endsWith('.v8cache'));

describe('keeper code cache', () => {
  it('a first run writes the cache beside the bundle, keyed by build hash, Node version and arch; the next run uses it', () => {
    const hash = writeBundle(7);
    expect(bundleHash(`x\n// apiary-bundle-hash ${hash}\n`)).toBe(hash);
    expect(load()).toEqual({ cache: 'missing', answer: 7 });
    expect(caches(dir)).toEqual([cacheFileName(bundle, hash)]);
    expect(cacheFileName(bundle, hash)).toContain(`${process.version}-${process.arch}`);
    expect(load()).toEqual({ cache: 'accepted', answer: 7 });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a changed bundle of the same length never runs with the old cache (nor keeps it)', () => {
    const oldHash = writeBundle(1);
    load();
    expect(load()).toEqual({ cache: 'accepted', answer: 1 });
    const newHash = writeBundle(2);
    expect(newHash).not.toBe(oldHash);
    // V8 checks little more than the source length: only the key keeps the old code from running.
    expect(load()).toEqual({ cache: 'missing', answer: 2 });
    expect(caches(dir)).toEqual([cacheFileName(bundle, newHash)]);
    expect(load()).toEqual({ cache: 'accepted', answer: 2 });
  });

  it("another Node version's cache is not used", () => {
    const hash = writeBundle(3);
    const other: CacheKey = { nodeVersion: 'v0.0.0', arch: process.arch };
    expect(load({ key: other })).toEqual({ cache: 'missing', answer: 3 });
    expect(cacheFileName(bundle, hash, other)).not.toBe(cacheFileName(bundle, hash, KEY));
    expect(caches(dir)).toEqual([cacheFileName(bundle, hash, other)]);
    expect(load()).toEqual({ cache: 'missing', answer: 3 });
    expect(load()).toEqual({ cache: 'accepted', answer: 3 });
  });

  it('a cache dir that cannot be written falls back to the next, and with none the run goes on uncached', () => {
    const hash = writeBundle(4);
    // A path under a regular file: no directory can be made there, even by root.
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const blocked = path.join(file, 'cache');
    const user = path.join(dir, 'user-cache');
    expect(load({ dirs: [blocked, user] })).toEqual({ cache: 'missing', answer: 4 });
    expect(caches(user)).toEqual([cacheFileName(bundle, hash)]);
    expect(load({ dirs: [blocked, user] })).toEqual({ cache: 'accepted', answer: 4 });
    rmSync(user, { recursive: true });
    expect(load({ dirs: [blocked] })).toEqual({ cache: 'missing', answer: 4 });
    expect(load({ dirs: [blocked] })).toEqual({ cache: 'missing', answer: 4 });
    expect(existsSync(user)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['b.cjs', 'not-a-dir']);
  });

  it('only a run that asks for it and exits 0 writes the cache', () => {
    const hash = writeBundle(6);
    expect(load({ save: false })).toEqual({ cache: 'missing', answer: 6 });
    expect(load({ exitCode: 1 })).toEqual({ cache: 'missing', answer: 6 });
    expect(caches(dir)).toEqual([]);
    expect(load()).toEqual({ cache: 'missing', answer: 6 });
    expect(caches(dir)).toEqual([cacheFileName(bundle, hash)]);
  });

  it('a bundle without a build hash is run but never cached', () => {
    writeBundle(5, false);
    mkdirSync(path.join(dir, 'c'));
    expect(load({ dirs: [path.join(dir, 'c')] })).toEqual({ cache: 'unkeyed', answer: 5 });
    expect(readdirSync(path.join(dir, 'c'))).toEqual([]);
  });
});
