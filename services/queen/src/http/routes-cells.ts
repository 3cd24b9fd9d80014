import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError } from '@apiary/protocol';
import type { FrameCatalog } from '../frames/catalog.js';
import type { UploadSlots } from '../query/upload-slots.js';
import type { WriteSlots } from '../frames/write-slots.js';
import { parseStaged } from '../frames/write-slots.js';
import { receiveStagedCell, serveWriteInput } from './routes-write-transfer.js';
// The route schemas' document keys (summary, produces, accepts); the routes here validate by hand (raw paths and bodies).
import type {} from './route-schema.js';

/** Largest query partial a remote hive may send back (partials are aggregated rows: small). */
export const MAX_PARTIAL_BYTES = 512 * 1024 * 1024;

/** Cell files and query partials are the only things served: a path must be one of these shapes. */
const CELL = /^frames\/[a-z_][a-z0-9_]{0,62}\/cells\/[A-Za-z0-9._-]+\.parquet$/;
const PARTIAL = /^queries\/[0-9a-f-]{36}\/(partial-\d+|result)\.parquet$/;
/** A query's last step writing the `--into` file (a whole plan, a merge, or SQL naming no frame). */
const RESULT = /^queries\/[0-9a-f-]{36}\/result\.parquet$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** A streamed result's spool (result-stream.ts), sent by a hive that fetches cells as its bee writes it. */
const SPOOL = /^queries\/[0-9a-f-]{36}\/result\.ndjson$/;

/**
 * Remote hives read cells over HTTP: GET /v1/cells/<path under the data root> (they check the
 * sha256 the queen gave them with the task), and send a map's partial or a query result back with
 * PUT. Hives authenticate with the join token. A PUT is taken only for a path a query step out now
 * writes (see UploadSlots): anything else is 404 TASK_NOT_FOUND, and a partial over `maxPartialBytes`
 * is 413 PAYLOAD_TOO_LARGE (from Content-Length when it says so, else as the bytes arrive); an
 * `--into` result.parquet is uncapped. With `x-apiary-sha256` the bytes must hash to it (else 400).
 */
export function registerCellRoutes(
  app: FastifyInstance,
  deps: { frames: { catalog: FrameCatalog; dataRoot: string; writer?: { slots: WriteSlots } }; queries: { uploads: UploadSlots }; maxPartialBytes?: number },
): void {
  const root = deps.frames.dataRoot;
  const maxPartial = deps.maxPartialBytes ?? MAX_PARTIAL_BYTES;
  const tooLarge = () => new ApiaryError('PAYLOAD_TOO_LARGE', `a query partial may be at most ${maxPartial} bytes`);

  const get = {
    summary: 'A cell or query partial under the data root, for remote hives (join token)',
    produces: { 200: { type: 'application/vnd.apache.parquet', description: 'the Parquet file' } },
  };
  app.get<{ Params: { '*': string } }>('/v1/cells/*', { schema: get }, async (req, reply) => {
    const rel = req.params['*'];
    // Remote writes (routes-write-transfer.ts): a running write's input files.
    if (rel === 'write-input' && deps.frames.writer) return serveWriteInput(req, reply, deps.frames.writer.slots);
    if (!CELL.test(rel) && !PARTIAL.test(rel)) throw new ApiaryError('BAD_REQUEST', `not a cell or partial path: ${rel}`);
    const file = path.join(root, rel);
    const st = await stat(file).catch(() => null);
    if (!st) throw new ApiaryError('FRAME_NOT_FOUND', `no such cell: ${rel}`);
    return reply.header('content-type', 'application/vnd.apache.parquet').header('content-length', String(st.size)).send(createReadStream(file));
  });

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const put = {
      summary: 'A query partial or result sent back by a remote hive (join token)',
      accepts: 'application/vnd.apache.parquet',
      produces: { 201: { type: 'application/json', description: 'stored' } },
    };
    scope.put<{ Params: { '*': string } }>('/v1/cells/*', { schema: put }, async (req, reply) => {
      const rel = req.params['*'];
      // Remote writes: a cell cut for a running write, into its staging dir.
      if (parseStaged(rel) && deps.frames.writer) return receiveStagedCell(req, reply, rel, root, deps.frames.writer.slots);
      if (SPOOL.test(rel)) return receiveSpool(req, reply, rel, root, deps.queries.uploads);
      if (!PARTIAL.test(rel)) throw new ApiaryError('BAD_REQUEST', `only query partials can be sent: ${rel}`);
      const unexpected = () =>
        new ApiaryError('TASK_NOT_FOUND', `no query step running now writes ${rel}: a hive sends only the output of a step it runs, while it runs`);
      if (!deps.queries.uploads.expects(rel)) throw unexpected();
      // A query's result for --into is as large as the query makes it (as from a local bee); a map's partial is capped.
      const cap = RESULT.test(rel) ? Number.POSITIVE_INFINITY : maxPartial;
      if (Number(req.headers['content-length'] ?? 0) > cap) throw tooLarge();
      const want = req.headers['x-apiary-sha256'];
      if (want !== undefined && !SHA256.test(String(want))) throw new ApiaryError('BAD_REQUEST', 'x-apiary-sha256 must be 64 hex digits');
      const file = path.join(root, rel);
      // The query may not have made its directory (its maps were inline when its plan last ran); a
      // unique temp name keeps two senders of one step apart.
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${randomBytes(6).toString('hex')}.upload`;
      let seen = 0;
      const hash = createHash('sha256');
      const body = req.body as NodeJS.ReadableStream;
      body.on('data', (c: Buffer) => {
        seen += c.length;
        hash.update(c);
        if (seen > cap) (body as unknown as { destroy(e: Error): void }).destroy(tooLarge());
      });
      try {
        await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
        // Checked like a staged cell: only the bytes the hive's bee wrote are kept.
        const got = hash.digest('hex');
        if (want !== undefined && got !== want)
          throw new ApiaryError('BAD_REQUEST', `${rel}: the bytes received hash to ${got}, not ${String(want)}; send it again`);
        // The step may have ended while the bytes arrived: then nobody reads the file.
        if (!deps.queries.uploads.expects(rel)) throw unexpected();
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        // The step ended meanwhile: its query may have removed the directory the mkdir above made again.
        if (!deps.queries.uploads.expects(rel)) await rmdir(path.dirname(file)).catch(() => undefined);
        throw e;
      }
      return reply.status(201).send({ ok: true, bytes: seen });
    });
  });
}

/**
 * A streamed result, chunked, written in place as it arrives (no temp file: the queen's tail of the
 * spool reads it while it grows) and with no size cap, as for a local bee. Only while the step that
 * streams is out; a body cut off (the hive gave up) leaves a partial spool the failed step discards.
 */
async function receiveSpool(req: FastifyRequest, reply: FastifyReply, rel: string, root: string, uploads: UploadSlots) {
  if (!uploads.expects(rel)) throw new ApiaryError('TASK_NOT_FOUND', `no query step running now streams ${rel}`);
  let bytes = 0;
  const body = req.body as NodeJS.ReadableStream;
  body.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  await pipeline(body, createWriteStream(path.join(root, rel), { mode: 0o600 }));
  return reply.status(201).send({ ok: true, bytes });
}
