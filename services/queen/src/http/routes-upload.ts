import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { ApiaryError, UploadQuery, WriteResponse } from '@apiary/protocol';
import type { FrameWriter } from '../frames/writer.js';
import { frameParams } from './routes-frames.js';
import { part, type ZodTypeProvider } from './route-schema.js';
import type { ProgressRegistry } from '../progress/progress-registry.js';
import { followRequest } from './routes-progress.js';

/** Largest upload accepted (a write from another machine); larger inputs go by path on the queen's machine. */
export const MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

const RAW_TYPES = ['application/octet-stream', 'text/csv', 'application/x-ndjson', 'application/json', 'application/vnd.apache.parquet'];

/**
 * PUT /v1/frames/:name/upload?format=csv|parquet|json[&mode][&partitionBy][&maxAttempts][&timeoutMs]: the body is the input
 * file itself, streamed to the data root, then written like any other write (one version).
 */
export function registerUploadRoutes(app: FastifyInstance, deps: { frames: { writer: FrameWriter; dataRoot: string } }, registry: ProgressRegistry): void {
  app.register(async (scope) => {
    // Uploads stream to disk: no JSON parsing and none of the 10 MiB JSON body limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(RAW_TYPES, (_req, payload, done) => done(null, payload));
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    const schema = {
      summary: 'Write the request body (a csv, parquet or json file) as the next version of a frame',
      params: frameParams,
      querystring: part(UploadQuery, 'upload query'),
      accepts: 'application/octet-stream',
      response: { 200: WriteResponse },
    };
    scope.withTypeProvider<ZodTypeProvider>().put('/v1/frames/:name/upload', { schema }, async (req, reply) => {
      const { name } = req.params;
      const q = req.query;
      // Followed from the start: the keeper's line shows the upload's write once the bytes are in.
      const progress = followRequest(registry, req, reply, 'write', 'submit');
      const dir = path.join(deps.frames.dataRoot, 'uploads', randomUUID());
      await mkdir(dir, { recursive: true });
      try {
        const file = path.join(dir, `input.${q.format}`);
        let seen = 0;
        const limit = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            seen += chunk.length;
            cb(
              seen > MAX_UPLOAD_BYTES
                ? new ApiaryError(
                    'PAYLOAD_TOO_LARGE',
                    `uploads are limited to ${MAX_UPLOAD_BYTES} bytes: put the file on the queen's machine and write it by path`,
                  )
                : null,
              chunk,
            );
          },
        });
        await pipeline(req.body as NodeJS.ReadableStream, limit, createWriteStream(file, { mode: 0o600 }));
        const ac = new AbortController();
        reply.raw.once('close', () => reply.raw.writableFinished || ac.abort());
        return await deps.frames.writer.write(
          name,
          { path: file, format: q.format, mode: q.mode, partitionBy: q.partitionBy, maxAttempts: q.maxAttempts, timeoutMs: q.timeoutMs },
          ac.signal,
          progress,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
