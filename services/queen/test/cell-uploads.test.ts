import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameCatalog } from '../src/frames/catalog.js';
import { errorHandler } from '../src/http/errors.js';
import { registerCellRoutes } from '../src/http/routes-cells.js';
import { UploadSlots } from '../src/query/upload-slots.js';
import { waitFor } from '../../../e2e/helpers/procs.js';
import { LOAD_MARGIN_MS } from '../../../e2e/helpers/timing.js';

/** Small enough to exceed in a test; the route's real default is MAX_PARTIAL_BYTES. */
const CAP = 64 * 1024;

/** The PUT route of /v1/cells on a real HTTP server over a temp data root. */
describe('PUT /v1/cells/queries/…: only the outputs of the query steps out now, each bounded', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'apiary-uploads-'));
  const uploads = new UploadSlots();
  let app: FastifyInstance;
  let base = '';

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setErrorHandler(errorHandler);
    registerCellRoutes(app, { frames: { catalog: FrameCatalog.memory(), dataRoot: root }, queries: { uploads }, maxPartialBytes: CAP });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
    expect(existsSync(root)).toBe(false);
  });

  /** A query directory as the runner makes it, with its step's output path open for `taskId`. */
  const step = (taskId = randomUUID(), name = 'partial-0') => {
    const q = randomUUID();
    mkdirSync(path.join(root, 'queries', q), { recursive: true });
    const rel = `queries/${q}/${name}.parquet`;
    uploads.open(rel, taskId);
    return { q, rel, taskId };
  };
  const put = (rel: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/cells/${rel}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  const leftovers = () => readdirSync(path.join(root, 'queries'), { recursive: true }).map(String);

  it('an expected output is stored; the same path after its step ended is 404 TASK_NOT_FOUND and the file is not replaced', async () => {
    const s = step();
    const r = await put(s.rel, Buffer.from('first'));
    expect(r.status).toBe(201);
    expect(readFileSync(path.join(root, s.rel), 'utf8')).toBe('first');
    uploads.close(s.rel, s.taskId);
    const late = await put(s.rel, Buffer.from('late'));
    expect(late.status).toBe(404);
    expect(await late.json()).toMatchObject({ code: 'TASK_NOT_FOUND', message: expect.stringContaining('no query step running now writes') });
    expect(readFileSync(path.join(root, s.rel), 'utf8')).toBe('first');
  });

  it('a well-formed path no step expects (any uuid) is 404 and nothing is created', async () => {
    const before = leftovers();
    for (const rel of [`queries/${randomUUID()}/partial-0.parquet`, `queries/${randomUUID()}/result.parquet`]) {
      const r = await put(rel, Buffer.from('unsolicited'));
      expect(r.status, rel).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe('TASK_NOT_FOUND');
    }
    // Another partial of an open query is not open either: only the exact path of a step.
    const s = step();
    const sibling = s.rel.replace('partial-0', 'partial-7');
    expect((await put(sibling, Buffer.from('x'))).status).toBe(404);
    expect(leftovers().sort()).toEqual([...before, s.q].sort());
    uploads.close(s.rel, s.taskId);
  });

  it('a path that is not a query output is 400 BAD_REQUEST', async () => {
    for (const rel of ['frames/t/cells/a.parquet', 'queries/not-a-uuid/partial-0.parquet', 'queries/../../etc/x.parquet']) {
      const r = await put(rel, Buffer.from('x'));
      expect([400, 404], rel).toContain(r.status); // ../ may be normalised away by the URL parser into a 404 route
      if (r.status === 400) expect(((await r.json()) as { code: string }).code).toBe('BAD_REQUEST');
    }
  });

  it(`a body over the cap is 413 PAYLOAD_TOO_LARGE, whether Content-Length says so or the bytes do; no file or temp file stays`, async () => {
    const s = step();
    const over = Buffer.alloc(CAP + 1, 1);
    const declared = await put(s.rel, over);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    // Chunked (no Content-Length): counted as it arrives.
    const chunked = await fetch(`${base}/v1/cells/${s.rel}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new ReadableStream({
        pull(c) {
          c.enqueue(new Uint8Array(over));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((e: Error) => e);
    // The queen may cut the connection as it refuses: either a 413 or a reset, never a stored file.
    if (!(chunked instanceof Error)) expect(chunked.status).toBe(413);
    // A reset can reach us before the route has removed its temp file: that removal is the contract.
    await waitFor(() => readdirSync(path.join(root, 'queries', s.q)).length === 0, LOAD_MARGIN_MS, 'the refused upload removed');
    // At the cap exactly it is taken.
    expect((await put(s.rel, Buffer.alloc(CAP, 2))).status).toBe(201);
    uploads.close(s.rel, s.taskId);
  });

  it('an --into result (result.parquet) has no cap: it is as large as the query makes it, as from a local bee', async () => {
    const s = step(randomUUID(), 'result');
    const big = Buffer.alloc(4 * CAP, 3);
    expect((await put(s.rel, big)).status).toBe(201);
    expect(readFileSync(path.join(root, s.rel)).equals(big)).toBe(true);
    uploads.close(s.rel, s.taskId);
  });

  it('with x-apiary-sha256 the bytes must hash to it: a mismatch is 400 BAD_REQUEST and no file or temp file stays', async () => {
    const s = step(randomUUID(), 'result');
    const body = Buffer.from('the bee wrote this');
    const wrong = createHash('sha256').update('something else').digest('hex');
    const bad = await put(s.rel, body, { 'x-apiary-sha256': wrong });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(wrong) });
    expect(readdirSync(path.join(root, 'queries', s.q))).toEqual([]);
    expect((await put(s.rel, body, { 'x-apiary-sha256': 'not-hex' })).status).toBe(400);
    const ok = await put(s.rel, body, { 'x-apiary-sha256': createHash('sha256').update(body).digest('hex') });
    expect(ok.status).toBe(201);
    expect(readFileSync(path.join(root, s.rel), 'utf8')).toBe('the bee wrote this');
    uploads.close(s.rel, s.taskId);
  });
});
