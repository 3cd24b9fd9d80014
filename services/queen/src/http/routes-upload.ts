import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { ApiaryError, checkFrameName, InputFormat, validate, WriteMode } from '@apiary/protocol';
import { z } from 'zod';
import type { FrameWriter } from '../frames/writer.js';

/** Largest upload accepted (a write from another machine); larger inputs go by path on the queen's machine. */
export const MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

const UploadQuery = z.object({
  format: InputFormat,
  mode: WriteMode.default('append'),
  partitionBy: z.string().min(1).max(256).optional(),
  maxAttempts: z.coerce.number().int().min(1).max(20).optional(),
  timeoutMs: z.coerce.number().int().positive().max(86_400_000).optional(),
});

const RAW_TYPES = ['application/octet-stream', 'text/csv', 'application/x-ndjson', 'application/json', 'application/vnd.apache.parquet'];

/**
 * PUT /v1/frames/:name/upload?format=csv|parquet|json[&mode][&partitionBy][&maxAttempts][&timeoutMs]: the body is the input
 * file itself, streamed to the data root, then written like any other write (one version).
 */
export function registerUploadRoutes(app: FastifyInstance, deps: { frames: { writer: FrameWriter; dataRoot: string } }): void {
  app.register(async (scope) => {
    // Uploads stream to disk: no JSON parsing and none of the 10 MiB JSON body limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(RAW_TYPES, (_req, payload, done) => done(null, payload));
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    scope.put<{ Params: { name: string } }>('/v1/frames/:name/upload', async (req, reply) => {
      const name = checkFrameName(req.params.name);
      const q = validate(UploadQuery, req.query, 'upload query');
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
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
