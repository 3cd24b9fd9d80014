import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bindingName, bindingVersion, bindingsCacheDir, ensureBinding, integrityMatches } from '../src/cluster/bindings.js';

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`;

/** A real npm-style tarball (files under package/) of a small fake binding package. */
function makeTarball(dir: string, name: string, version: string): Buffer {
  const pkg = path.join(dir, 'src', 'package');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version }));
  writeFileSync(path.join(pkg, 'duckdb.node'), Buffer.alloc(4096, 7));
  const out = path.join(dir, 'pkg.tgz');
  execFileSync('tar', ['-czf', out, '-C', path.join(dir, 'src'), 'package']);
  return readFileSync(out);
}

/** A registry over real HTTP: the abbreviated packument of one package, and its tarball (possibly tampered with). */
async function registry(name: string, version: string, tarball: Buffer, integrity: string): Promise<{ url: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    if (req.url === `/${name.replace('/', '%2f')}`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, versions: { [version]: { dist: { tarball: `${base}t/pkg.tgz`, integrity } } } }));
    } else if (req.url === '/t/pkg.tgz') {
      res.end(tarball);
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, hits };
}

describe('integrityMatches', () => {
  it('accepts the exact bytes and refuses a single flipped byte, a missing or non-sha512 hash', () => {
    const data = Buffer.from('the real tarball bytes');
    expect(integrityMatches(data, sri(data))).toBe(true);
    // npm may list several hashes; one sha512 that matches is enough.
    expect(integrityMatches(data, `sha1-abc ${sri(data)}`)).toBe(true);
    const tampered = Buffer.from(data);
    tampered[3] = tampered[3]! ^ 1;
    expect(integrityMatches(tampered, sri(data))).toBe(false);
    expect(integrityMatches(data, '')).toBe(false);
    expect(integrityMatches(data, `sha1-${createHash('sha1').update(data).digest('base64')}`)).toBe(false);
  });
});

describe('ensureBinding from a registry', () => {
  // A platform-arch no machine has installed, so the lookup must go to the (local) registry.
  const [platform, arch] = ['linux', 'testarch'];
  const name = bindingName(platform, arch);
  const version = bindingVersion();
  let dir: string;
  let server: Server | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-bindings-'));
  });
  afterEach(async () => {
    if (server) await new Promise((r) => server!.close(r));
    server = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches the packument and tarball, verifies, caches under APIARY_HOME; the next call uses the cache', async () => {
    const tgz = makeTarball(dir, name, version);
    const reg = await registry(name, version, tgz, sri(tgz));
    server = reg.server;
    const home = path.join(dir, 'home');
    const got = await ensureBinding(platform, arch, { home, registry: reg.url });
    expect(got.from).toBe('registry');
    expect(got.dir).toBe(path.join(bindingsCacheDir(home), `${name}@${version}`));
    expect(JSON.parse(readFileSync(path.join(got.dir, 'package.json'), 'utf8')).version).toBe(version);
    expect(readFileSync(path.join(got.dir, 'duckdb.node'))).toEqual(Buffer.alloc(4096, 7));
    expect(reg.hits).toHaveLength(2);
    const again = await ensureBinding(platform, arch, { home, registry: reg.url });
    expect(again).toEqual({ dir: got.dir, from: 'cache' });
    expect(reg.hits).toHaveLength(2);
  });

  it('refuses a tampered tarball (BINDING_FETCH_FAILED) and caches nothing', async () => {
    const tgz = makeTarball(dir, name, version);
    const tampered = Buffer.from(tgz);
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 0xff;
    const reg = await registry(name, version, tampered, sri(tgz));
    server = reg.server;
    const home = path.join(dir, 'home');
    await expect(ensureBinding(platform, arch, { home, registry: reg.url })).rejects.toMatchObject({
      code: 'BINDING_FETCH_FAILED',
      message: expect.stringMatching(/does not match the registry's dist.integrity.*refused/),
    });
    const cache = bindingsCacheDir(home);
    expect(existsSync(cache) ? readdirSync(cache, { recursive: true }) : []).toEqual([]);
  });

  it('an unreachable registry is BINDING_FETCH_FAILED naming the package, the version and how to place it by hand', async () => {
    const home = path.join(dir, 'home');
    // A port that was just free: nothing listens, the connection is refused at once.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await ensureBinding(platform, arch, { home, registry: `http://127.0.0.1:${port}/` }).catch((e) => e);
    expect(err.code).toBe('BINDING_FETCH_FAILED');
    expect(err.message).toContain(`${name}@${version}`);
    expect(err.message).toMatch(/unreachable .*ECONNREFUSED/);
    expect(err.message).toContain(`npm pack ${name}@${version}`);
    expect(err.message).toContain(path.join(bindingsCacheDir(home), `${name}@${version}`, 'package.json'));
  });

  it('a version the registry lacks is BINDING_FETCH_FAILED', async () => {
    const tgz = makeTarball(dir, name, '0.0.0-other');
    const reg = await registry(name, '0.0.0-other', tgz, sri(tgz));
    server = reg.server;
    await expect(ensureBinding(platform, arch, { home: path.join(dir, 'home'), registry: reg.url })).rejects.toMatchObject({
      code: 'BINDING_FETCH_FAILED',
      message: expect.stringContaining('has no such version'),
    });
  });
});

describe('ensureBinding from the real npm registry', () => {
  it('fetches the linux-arm64 binding of our exact version: an aarch64 ELF duckdb.node', { timeout: 180_000 }, async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-bindings-npm-'));
    try {
      const got = await ensureBinding('linux', 'arm64', { home });
      expect(got.from).toBe('registry');
      const pkg = JSON.parse(readFileSync(path.join(got.dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({ name: '@duckdb/node-bindings-linux-arm64', version: bindingVersion() });
      // ELF header: magic, 64-bit, and e_machine (offset 18) 0xB7 = EM_AARCH64.
      const head = Buffer.alloc(20);
      const fd = openSync(path.join(got.dir, 'duckdb.node'), 'r');
      readSync(fd, head, 0, 20, 0);
      closeSync(fd);
      expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(head.readUInt16LE(18)).toBe(0xb7);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
