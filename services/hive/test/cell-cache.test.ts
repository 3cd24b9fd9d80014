import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CellCache } from '../src/cell-cache.js';

/** A real HTTP server standing in for the queen's /v1/cells route, serving files from `root`. */
describe('CellCache', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'apiary-cells-src-'));
  const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'apiary-cells-cache-'));
  let server: http.Server;
  let base = '';
  const hits: string[] = [];
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const cell = (name: string, size: number) => {
    const b = Buffer.alloc(size, name.charCodeAt(0));
    mkdirSync(path.join(root, 'frames/f/cells'), { recursive: true });
    writeFileSync(path.join(root, 'frames/f/cells', name), b);
    return { rel: `frames/f/cells/${name}`, sha: sha(b) };
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer join-token-for-tests') return void res.writeHead(401).end();
      const rel = decodeURIComponent((req.url ?? '').replace('/v1/cells/', ''));
      hits.push(rel);
      const f = path.join(root, rel);
      if (!existsSync(f)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(f));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(root, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
    expect(existsSync(root) || existsSync(cacheRoot)).toBe(false);
  });

  it('fetches once, verifies the sha256, and serves later reads from disk', async () => {
    const c = new CellCache(path.join(cacheRoot, 'a'), 1 << 20, base, 'join-token-for-tests');
    await c.load();
    const a = cell('a.parquet', 1000);
    const local = await c.acquire(a.rel, a.sha);
    c.unpin(a.rel);
    expect(readFileSync(local)).toEqual(readFileSync(path.join(root, a.rel)));
    await c.acquire(a.rel, a.sha);
    expect(hits.filter((h) => h === a.rel)).toHaveLength(1);
    expect(c.held()).toEqual([a.rel]);
  });

  it('refuses a download whose checksum does not match, and keeps nothing of it', async () => {
    const c = new CellCache(path.join(cacheRoot, 'b'), 1 << 20, base, 'join-token-for-tests');
    const b = cell('b.parquet', 1000);
    await expect(c.acquire(b.rel, '0'.repeat(64))).rejects.toMatchObject({ code: 'CELL_FETCH_FAILED', message: expect.stringMatching(/sha256/) });
    expect(c.held()).toEqual([]);
    expect(existsSync(path.join(cacheRoot, 'b', b.rel))).toBe(false);
  });

  it('evicts least recently used cells beyond its budget, never a pinned one', async () => {
    const c = new CellCache(path.join(cacheRoot, 'c'), 2500, base, 'join-token-for-tests');
    const [x, y, z] = [cell('x.parquet', 1000), cell('y.parquet', 1000), cell('z.parquet', 1000)];
    await c.acquire(x.rel, x.sha); // stays pinned
    await c.acquire(y.rel, y.sha);
    c.unpin(y.rel);
    await c.acquire(z.rel, z.sha);
    expect(c.held().sort()).toEqual([x.rel, z.rel].sort());
    expect(c.bytes).toBeLessThanOrEqual(2500);
  });

  it('reports a wrong token or a missing cell as CELL_FETCH_FAILED', async () => {
    const wrong = new CellCache(path.join(cacheRoot, 'd'), 1 << 20, base, 'nope');
    await expect(wrong.acquire('frames/f/cells/a.parquet')).rejects.toMatchObject({ code: 'CELL_FETCH_FAILED', message: expect.stringMatching(/401/) });
    const c = new CellCache(path.join(cacheRoot, 'e'), 1 << 20, base, 'join-token-for-tests');
    await expect(c.acquire('frames/f/cells/none.parquet')).rejects.toMatchObject({ code: 'CELL_FETCH_FAILED' });
  });
});
