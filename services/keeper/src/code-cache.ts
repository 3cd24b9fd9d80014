import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/*
 * A CommonJS bundle run through vm.Script with V8's code cache: Node 20 has no compile cache for
 * ES modules (module.enableCompileCache is Node 22), and parsing and compiling the keeper's ~2 MB
 * was a third of a one-shot run's CPU. The bundle (scripts/bundle.mjs --cached) is one function
 * expression `(exports, require, module, __filename, __dirname, __apiaryMetaUrl) => …` ending in a
 * line with the sha256 of its build. The cache is keyed by that hash, the Node version and the
 * arch: V8 checks little more than the source's length and its own flags, and has accepted a cache of
 * an older build of the same length and run the OLD code. Kept next to the bundle, or in the user's
 * cache dir when that is not writable; written once, at a successful exit, by a run that had none and
 * asked for it (saveAtExit: so it holds what that run compiled); a cache that cannot be read or
 * written only costs the compile.
 */

const HASH_MARK = /\/\/ apiary-bundle-hash ([0-9a-f]{64})\s*$/;
/** User cache dir files of a bundle's other builds are left this long (another install may still use them). */
const FOREIGN_CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;

export type CacheState = 'accepted' | 'rejected' | 'missing' | 'unkeyed';

export interface CachedBundle {
  exports: Record<string, unknown>;
  /** What became of the code cache: used, refused by V8, none there, or a bundle with no hash (never cached). */
  cache: CacheState;
  /**
   * Write the cache as the process exits with code 0, unless it was used. Called by the runs whose
   * compiled code should be kept: what a `keeper --help` compiled is a third of what a run does, and
   * an accepted cache is never rewritten.
   */
  saveAtExit(): void;
}

export interface CacheKey {
  nodeVersion: string;
  arch: string;
}

export interface CacheOptions {
  /** Where the cache is looked for and written, first first (default: beside the bundle, then the user cache dir). */
  dirs?: readonly string[];
  /** For tests: another Node's key. */
  key?: CacheKey;
}

/** The build hash at the bundle's end, or null. */
export function bundleHash(source: string): string | null {
  return HASH_MARK.exec(source.slice(-120))?.[1] ?? null;
}

/** The cache file's name: bundle name, build hash, Node version, arch. */
export function cacheFileName(bundle: string, hash: string, key: CacheKey = { nodeVersion: process.version, arch: process.arch }): string {
  return `${path.basename(bundle)}.${hash.slice(0, 32)}.${key.nodeVersion}-${key.arch}.v8cache`;
}

export function defaultCacheDirs(bundle: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return [path.dirname(bundle), path.join(base, 'apiary', 'code-cache')];
}

/** Run the bundle at `file` (module code, once) and return its exports. Throws only if the bundle cannot be read or run. */
export function loadCachedBundle(file: string, o: CacheOptions = {}): CachedBundle {
  const source = readFileSync(file, 'utf8');
  const hash = bundleHash(source);
  const dirs = o.dirs ?? defaultCacheDirs(file);
  const name = hash ? cacheFileName(file, hash, o.key) : null;
  let cachedData: Buffer | undefined;
  for (const d of name ? dirs : []) {
    try {
      cachedData = readFileSync(path.join(d, name!));
      break;
    } catch {
      // not there (or unreadable): the next dir
    }
  }
  const script = new vm.Script(source, { filename: file, cachedData });
  const cache: CacheState = !name ? 'unkeyed' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const fn = script.runInThisContext() as (...a: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  fn.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), pathToFileURL(file).href);
  const saveAtExit = () => {
    // At exit the script holds all this run compiled.
    if (hash && name && cache !== 'accepted') process.once('exit', (code) => code === 0 && writeCache(script, file, hash, dirs, name));
  };
  return { exports: module.exports, cache, saveAtExit };
}

/** Into the first dir that takes it, atomically (a temp file renamed); never throws. */
function writeCache(script: vm.Script, file: string, hash: string, dirs: readonly string[], name: string): void {
  let data: Buffer;
  try {
    data = script.createCachedData();
  } catch {
    return;
  }
  for (const [i, d] of dirs.entries()) {
    const tmp = path.join(d, `${name}.${process.pid}.tmp`);
    try {
      mkdirSync(d, { recursive: true });
      writeFileSync(tmp, data);
      renameSync(tmp, path.join(d, name));
      // Beside the bundle, other builds' caches are dead at once; in the user dir another install may use them.
      pruneOthers(d, path.basename(file), hash, i === 0 ? 0 : FOREIGN_CACHE_MAX_AGE_MS);
      return;
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // its dir is not one
      }
    }
  }
}

/** Caches of other builds of the same bundle (any Node version) older than maxAgeMs. */
function pruneOthers(dir: string, bundleName: string, hash: string, maxAgeMs: number): void {
  const cutoff = Date.now() - maxAgeMs;
  for (const n of readdirSync(dir)) {
    if (!n.startsWith(`${bundleName}.`) || n.startsWith(`${bundleName}.${hash.slice(0, 32)}.`) || !n.endsWith('.v8cache')) continue;
    const f = path.join(dir, n);
    try {
      if (statSync(f).mtimeMs <= cutoff) rmSync(f, { force: true });
    } catch {
      // gone already
    }
  }
}
