import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiaryHome } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';

/**
 * DuckDB's native binding for a host's platform and arch, found here or fetched on demand: a
 * cluster of Pis is usually driven from an x64 machine whose node_modules holds only the x64
 * binding. We fetch exactly the version our @duckdb/node-bindings pins, the way npm would
 * (packument -> dist.tarball, dist.integrity checked before use), cache it under APIARY_HOME and
 * upload it; the host itself downloads nothing.
 */

const require = createRequire(import.meta.url);
const execFileP = promisify(execFile);
const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';
/** A registry that does not answer within this is treated as unreachable (the tarball is ~20 MB). */
const FETCH_TIMEOUT_MS = 120_000;
/** Written last into a cache entry: its presence means the tarball passed the integrity check. */
const VERIFIED = '.apiary-integrity';

export function bindingName(platform: string, arch: string): string {
  return `@duckdb/node-bindings-${platform}-${arch}`;
}

/** The version of @duckdb/node-bindings installed here: the binding must match it exactly. */
export function bindingVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@duckdb/node-bindings/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function bindingsCacheDir(home = apiaryHome()): string {
  return path.join(home, 'cache', 'bindings');
}

function installedDir(name: string, version: string): string | null {
  try {
    const file = require.resolve(`${name}/package.json`);
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
    return v === version ? path.dirname(file) : null;
  } catch {
    return null;
  }
}

/** The registry npm would use for a package: npm_config_registry, then `npm config`, then npmjs.org. */
export async function npmRegistry(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env.npm_config_registry || env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv.endsWith('/') ? fromEnv : `${fromEnv}/`;
  try {
    // `npm config get` reads every npmrc (project, user, global) as npm itself does.
    const { stdout } = await execFileP('npm', ['config', 'get', '@duckdb:registry', 'registry'], { timeout: 15_000, env });
    const kv = Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    const r = [kv['@duckdb:registry'], kv.registry].find((v) => v && /^https?:\/\//.test(v));
    if (r) return r.endsWith('/') ? r : `${r}/`;
  } catch {
    // no npm here: the default registry, as npm's own default
  }
  return DEFAULT_REGISTRY;
}

/**
 * Whether `data` matches an SRI string as npm writes it ("sha512-BASE64", possibly several hashes
 * separated by spaces). Only sha512 counts: npm's dist.integrity always carries it, and a weaker
 * hash alone is not trusted.
 */
export function integrityMatches(data: Buffer, sri: string): boolean {
  const wanted = sri
    .trim()
    .split(/\s+/)
    .filter((h) => h.startsWith('sha512-'))
    .map((h) => h.slice('sha512-'.length).split('?')[0]);
  if (wanted.length === 0) return false;
  const got = createHash('sha512').update(data).digest('base64');
  return wanted.includes(got);
}

function fetchFailed(name: string, version: string, why: string, cacheDir: string): ApiaryError {
  return new ApiaryError(
    'BINDING_FETCH_FAILED',
    `cannot get ${name}@${version} (the host's DuckDB binding, not installed here): ${why}. ` +
      `Set npm_config_registry to a registry this machine can reach, or place the package by hand: ` +
      `download its tarball (npm pack ${name}@${version} works on any machine), unpack it so that ` +
      `${path.join(cacheDir, `${name}@${version}`, 'package.json')} exists, and run cluster up again.`,
  );
}

async function get(url: string, accept: string): Promise<Buffer> {
  const r = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!r.ok) throw new Error(`${url} answered HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

/** Unpack an npm tarball (gzip'd tar, files under package/) into dir. */
async function unpack(tgz: Buffer, dir: string): Promise<void> {
  const file = `${dir}.tgz`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, tgz);
  try {
    await execFileP('tar', ['-xzf', file, '-C', dir, '--strip-components=1', '--no-same-owner'], { timeout: 60_000 });
  } finally {
    rmSync(file, { force: true });
  }
}

export interface BindingSource {
  dir: string;
  from: 'installed' | 'cache' | 'registry';
}

export interface FetchOptions {
  home?: string;
  registry?: string;
}

/**
 * The local dir of the binding package for platform-arch: installed here, else cached under
 * APIARY_HOME, else fetched from the registry (checked against dist.integrity) into that cache.
 */
export async function ensureBinding(platform: string, arch: string, opts: FetchOptions = {}): Promise<BindingSource> {
  const name = bindingName(platform, arch);
  const version = bindingVersion();
  const installed = installedDir(name, version);
  if (installed) return { dir: installed, from: 'installed' };
  const cacheDir = bindingsCacheDir(opts.home);
  const dir = path.join(cacheDir, `${name}@${version}`);
  // A package placed by hand has no integrity marker; its package.json is enough to use it.
  if (existsSync(path.join(dir, 'package.json'))) return { dir, from: 'cache' };
  const tgz = await download(name, version, cacheDir, opts.registry);
  // Unpacked beside the final place, then renamed: a crash never leaves a half entry behind.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await unpack(tgz.data, tmp);
    writeFileSync(path.join(tmp, VERIFIED), `${tgz.integrity}\n`);
    mkdirSync(path.dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw fetchFailed(name, version, `unpacking failed: ${(e as Error).message}`, cacheDir);
  }
  return { dir, from: 'registry' };
}

/** The verified tarball of name@version from the registry. */
async function download(name: string, version: string, cacheDir: string, registryOpt?: string): Promise<{ data: Buffer; integrity: string }> {
  const registry = registryOpt ?? (await npmRegistry());
  const packumentUrl = `${registry}${name.replace('/', '%2f')}`;
  let dist: { tarball?: string; integrity?: string } | undefined;
  try {
    // The abbreviated packument (what npm install asks for): versions with their dist only.
    const doc = JSON.parse((await get(packumentUrl, 'application/vnd.npm.install-v1+json')).toString('utf8')) as {
      versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }>;
    };
    dist = doc.versions?.[version]?.dist;
  } catch (e) {
    throw fetchFailed(name, version, `the registry ${registry} is unreachable or answered badly (${errText(e)})`, cacheDir);
  }
  if (!dist?.tarball) throw fetchFailed(name, version, `the registry ${registry} has no such version`, cacheDir);
  if (!dist.integrity) throw fetchFailed(name, version, `the registry ${registry} gives no dist.integrity for it, so it cannot be verified`, cacheDir);
  let data: Buffer;
  try {
    data = await get(dist.tarball, 'application/octet-stream');
  } catch (e) {
    throw fetchFailed(name, version, `downloading ${dist.tarball} failed (${errText(e)})`, cacheDir);
  }
  if (!integrityMatches(data, dist.integrity)) {
    throw fetchFailed(name, version, `${dist.tarball} does not match the registry's dist.integrity (${dist.integrity}): refused`, cacheDir);
  }
  return { data, integrity: dist.integrity };
}

function errText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}
