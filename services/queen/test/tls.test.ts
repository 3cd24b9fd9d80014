import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { normalizeFingerprint, pinnedAgent, pinnedConnect } from '@apiary/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { isLoopbackHost, queenTls, type QueenTls } from '../src/tls/queen-cert.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'apiary-tls-'));
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  expect(existsSync(home)).toBe(false);
});

describe("the queen certificate (made at first start, kept, or the user's)", () => {
  const dir = path.join(home, 'tls');

  it('is made with the addresses hives dial as SubjectAltNames, a 0600 key, and kept for the next start', async () => {
    const a = await queenTls({ dir, names: ['10.201.7.1', 'queen.example'] });
    expect(a.source).toBe('generated');
    expect(statSync(path.join(dir, 'queen.key')).mode & 0o777).toBe(0o600);
    const c = new X509Certificate(readFileSync(path.join(dir, 'queen.crt')));
    expect(c.fingerprint256).toBe(a.fingerprint);
    expect(c.checkIP('10.201.7.1')).toBe('10.201.7.1');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.checkHost('queen.example')).toBe('queen.example');
    expect(c.checkIP('10.201.7.2')).toBeUndefined();
    const b = await queenTls({ dir, names: ['10.201.7.1'] });
    expect(b).toMatchObject({ source: 'kept', fingerprint: a.fingerprint });
  });

  it('is made again when a start names an address the kept one lacks', async () => {
    const before = await queenTls({ dir, names: ['10.201.7.1'] });
    const after = await queenTls({ dir, names: ['10.201.7.1', '10.201.9.1'] });
    expect(after.source).toBe('generated');
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(new X509Certificate(after.cert).checkIP('10.201.9.1')).toBe('10.201.9.1');
  });

  it("the user's certificate and key are used as given; a key of another certificate is CONFIG_INVALID", async () => {
    const mine = await queenTls({ dir: null, names: ['10.1.1.1'] });
    const other = await queenTls({ dir: null, names: ['10.1.1.2'] });
    const f = (name: string, s: string) => {
      const p = path.join(home, name);
      writeFileSync(p, s);
      return p;
    };
    const given = await queenTls({ dir, names: [], certFile: f('c.pem', mine.cert), keyFile: f('k.pem', mine.key) });
    expect(given).toMatchObject({ source: 'given', fingerprint: mine.fingerprint });
    await expect(queenTls({ dir, names: [], certFile: f('c.pem', mine.cert), keyFile: f('k2.pem', other.key) })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(queenTls({ dir, names: [], certFile: f('c.pem', mine.cert) })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('only loopback binds stay plain http', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.201.1.1', 'queen.example']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('fingerprint pinning: exactly that certificate, and nothing is sent to any other', () => {
  let tls: QueenTls;
  let server: https.Server;
  let wss: WebSocketServer;
  let port = 0;
  /** What reached the server: HTTP requests (with their Authorization) and WebSocket upgrades. */
  const seen: string[] = [];

  beforeAll(async () => {
    tls = await queenTls({ dir: null, names: ['127.0.0.1'] });
    server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.end('ok');
    });
    wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      seen.push(`upgrade ${req.url}`);
      wss.handleUpgrade(req, socket, head, (ws) => ws.send('welcome'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const wrong = () => {
    const hex = tls.fingerprint.replace(/:/g, '');
    return normalizeFingerprint((hex[0] === 'A' ? 'B' : 'A') + hex.slice(1));
  };
  const get = (fp: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(`https://127.0.0.1:${port}/v1/colony`, { agent: pinnedAgent(fp), headers: { authorization: 'Bearer secret-token' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', reject);
    });
  const open = (fp: string) =>
    new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/hive`, { createConnection: pinnedConnect(fp) as never });
      ws.once('message', (m) => {
        resolve(m.toString());
        ws.close();
      });
      ws.once('error', reject);
    });

  it('the pinned certificate is accepted over https and wss (lower case without colons too)', async () => {
    seen.length = 0;
    expect(await get(tls.fingerprint)).toBe('200');
    expect(await open(tls.fingerprint.replace(/:/g, '').toLowerCase())).toBe('welcome');
    expect(seen).toEqual(['GET /v1/colony Bearer secret-token', 'upgrade /v1/hive']);
  });

  it('another fingerprint is TLS_PIN_MISMATCH naming both, and neither the request nor the upgrade reaches the server', async () => {
    seen.length = 0;
    const want = wrong();
    await expect(get(want)).rejects.toMatchObject({ code: 'TLS_PIN_MISMATCH', message: expect.stringContaining(tls.fingerprint) });
    await expect(open(want)).rejects.toMatchObject({ code: 'TLS_PIN_MISMATCH', message: expect.stringContaining(want) });
    expect(seen).toEqual([]);
  });

  it('a fingerprint that is not one is CONFIG_INVALID', () => {
    expect(() => normalizeFingerprint('abc')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => pinnedConnect('zz'.repeat(32))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
