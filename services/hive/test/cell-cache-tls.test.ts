import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenTls } from '../../queen/src/tls/queen-cert.js';
import { CellCache } from '../src/cell-cache.js';

/** A real https server with a queen certificate, standing in for the queen's /v1/cells routes. */
describe('CellCache against an https queen: its fingerprint pinned for downloads and uploads', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-cells-tls-'));
  const body = Buffer.alloc(4096, 7);
  const sha = createHash('sha256').update(body).digest('hex');
  const seen: string[] = [];
  let server: https.Server;
  let base = '';
  let fingerprint = '';

  beforeAll(async () => {
    const tls = await queenTls({ dir: null, names: ['127.0.0.1'] });
    fingerprint = tls.fingerprint;
    server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      if (req.method === 'PUT') {
        req.resume();
        req.on('end', () => res.writeHead(201).end('{}'));
        return;
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  });

  const wrong = () => {
    const hex = fingerprint.replace(/:/g, '');
    return (hex[0] === 'A' ? 'B' : 'A') + hex.slice(1);
  };

  it('with the pinned fingerprint a cell is fetched and verified, and an output is sent back', async () => {
    seen.length = 0;
    const c = new CellCache(path.join(dir, 'ok'), 1 << 20, base, 'join-token-for-tests', fingerprint);
    const local = await c.acquire('frames/f/cells/a.parquet', sha);
    expect(readFileSync(local)).toEqual(body);
    const out = path.join(dir, 'out.parquet');
    writeFileSync(out, 'partial');
    await c.upload(out, 'queries/00000000-0000-0000-0000-000000000000/partial-0.parquet');
    expect(seen).toEqual([
      'GET /v1/cells/frames/f/cells/a.parquet Bearer join-token-for-tests',
      'PUT /v1/cells/queries/00000000-0000-0000-0000-000000000000/partial-0.parquet Bearer join-token-for-tests',
    ]);
  });

  it('with another fingerprint both fail (CELL_FETCH_FAILED naming the mismatch) and no request reaches the server', async () => {
    seen.length = 0;
    const c = new CellCache(path.join(dir, 'bad'), 1 << 20, base, 'join-token-for-tests', wrong());
    await expect(c.acquire('frames/f/cells/b.parquet', sha)).rejects.toMatchObject({
      code: 'CELL_FETCH_FAILED',
      message: expect.stringContaining(`presented a TLS certificate with SHA-256 fingerprint ${fingerprint}`),
    });
    const out = path.join(dir, 'out2.parquet');
    writeFileSync(out, 'partial');
    await expect(c.upload(out, 'queries/00000000-0000-0000-0000-000000000000/partial-1.parquet')).rejects.toMatchObject({ code: 'CELL_FETCH_FAILED' });
    expect(seen).toEqual([]);
    expect(c.held()).toEqual([]);
  });
});
