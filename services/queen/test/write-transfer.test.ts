import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameCatalog } from '../src/frames/catalog.js';
import { WriteSlots } from '../src/frames/write-slots.js';
import { errorHandler } from '../src/http/errors.js';
import { registerCellRoutes } from '../src/http/routes-cells.js';
import { UploadSlots } from '../src/query/upload-slots.js';
import { waitFor } from '../../../e2e/helpers/procs.js';
import { LOAD_MARGIN_MS } from '../../../e2e/helpers/timing.js';

/** The remote-write side of /v1/cells on a real HTTP server over a temp data root. */
describe('remote writes over /v1/cells: inputs of running writes only, cells kept only when their sha256 matches', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'apiary-write-transfer-'));
  const slots = new WriteSlots();
  let app: FastifyInstance;
  let base = '';

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setErrorHandler(errorHandler);
    registerCellRoutes(app, { frames: { catalog: FrameCatalog.memory(), dataRoot: root, writer: { slots } }, queries: { uploads: new UploadSlots() } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const put = (rel: string, body: Buffer, sha256?: string) =>
    fetch(`${base}/v1/cells/${rel}`, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream', ...(sha256 ? { 'x-apiary-sha256': sha256 } : {}) },
    });
  const staged = (writeId: string, file = 'data_0.parquet') => `frames/f/staging/${writeId}/t0/a1/${file}`;
  const stagingFiles = () => (existsSync(path.join(root, 'frames')) ? readdirSync(path.join(root, 'frames'), { recursive: true }).map(String) : []);

  it("serves a running write's input, and nothing else", async () => {
    const input = path.join(root, 'in.csv');
    writeFileSync(input, 'a\n1\n');
    const writeId = randomUUID();
    const get = (p: string) => fetch(`${base}/v1/cells/write-input?path=${encodeURIComponent(p)}`);
    expect((await get(input)).status).toBe(404); // no write reads it yet
    slots.open(writeId, 'f', [input]);
    const r = await get(input);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('a\n1\n');
    const other = await get('/etc/passwd');
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 'TASK_NOT_FOUND' });
    await slots.close(writeId);
    expect((await get(input)).status).toBe(404);
  });

  it('keeps a cell whose bytes hash to the sha256 sent, records it, and refuses a mismatch leaving no file', async () => {
    const writeId = randomUUID();
    slots.open(writeId, 'f', []);
    const body = Buffer.from('parquet bytes');
    const good = await put(staged(writeId), body, sha(body));
    expect(good.status).toBe(201);
    expect(readFileSync(path.join(root, staged(writeId)), 'utf8')).toBe('parquet bytes');
    expect(slots.verified(writeId, staged(writeId))).toEqual({ sha256: sha(body), bytes: body.length });

    const bad = await put(staged(writeId, 'data_1.parquet'), body, sha(Buffer.from('other bytes')));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('hash to') });
    expect(existsSync(path.join(root, staged(writeId, 'data_1.parquet')))).toBe(false);
    expect(slots.verified(writeId, staged(writeId, 'data_1.parquet'))).toBeUndefined();
    expect(stagingFiles().filter((f) => f.endsWith('.upload'))).toEqual([]);

    expect((await put(staged(writeId, 'data_2.parquet'), body)).status).toBe(400); // no sha256 header
    await slots.close(writeId);
  });

  it('refuses a cell for a write that is not running, or for another frame, and creates nothing', async () => {
    const before = stagingFiles();
    const body = Buffer.from('x');
    expect((await put(staged(randomUUID()), body, sha(body))).status).toBe(404);
    const writeId = randomUUID();
    slots.open(writeId, 'g', []);
    expect((await put(staged(writeId), body, sha(body))).status).toBe(404); // the slot is frame g's
    await slots.close(writeId);
    expect((await put(staged(writeId), body, sha(body))).status).toBe(404);
    expect(stagingFiles()).toEqual(before);
  });

  it('closing a write aborts an upload still arriving and waits for it: no file lands after', async () => {
    const writeId = randomUUID();
    slots.open(writeId, 'f', []);
    // A body that never ends until the slot closes.
    let push!: (b: Uint8Array | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        push = (b) => (b ? c.enqueue(b) : c.close());
      },
    });
    push(new Uint8Array(1024));
    const pending = fetch(`${base}/v1/cells/${staged(writeId)}`, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
      headers: { 'content-type': 'application/octet-stream', 'x-apiary-sha256': '0'.repeat(64) },
    } as RequestInit).catch((e: Error) => e);
    // The upload is in flight once its tmp file exists.
    const dir = path.join(root, path.dirname(staged(writeId)));
    await waitFor(() => existsSync(dir) && readdirSync(dir).length > 0, LOAD_MARGIN_MS, 'the upload in flight');
    await slots.close(writeId);
    // close resolved only after the route cleaned up: nothing is left under the write's dir.
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    push(null);
    await pending;
  });
});
