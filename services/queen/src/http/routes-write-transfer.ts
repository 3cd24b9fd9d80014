import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiaryError, InputFormat } from '@apiary/protocol';
import { inputSample } from '../frames/input-sample.js';
import type { WriteSlots } from '../frames/write-slots.js';

/** A staged cell is at most 2 x the target, more after a partition re-cut: bound uploads generously. */
export const MAX_STAGED_CELL_BYTES = 4 * 1024 ** 3;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * GET /v1/cells/write-input?path=<absolute path on the queen's machine>: an input file of a write
 * running now, for a hive that cannot read the queen's files. Any other path is 404. With
 * `&sample=<format>` only what a schema probe reads (input-sample.ts); a Parquet footer comes with
 * header `x-apiary-tail-of: <file bytes>`.
 */
export async function serveWriteInput(req: FastifyRequest, reply: FastifyReply, slots: WriteSlots): Promise<FastifyReply> {
  const q = req.query as { path?: unknown; sample?: unknown };
  const file = String(q.path ?? '');
  if (!path.isAbsolute(file) || !slots.inputAllowed(file)) {
    throw new ApiaryError('TASK_NOT_FOUND', `no write running now reads ${file || '(no path)'}`);
  }
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new ApiaryError('INPUT_NOT_FOUND', `no such input file: ${file}`);
  reply.header('content-type', 'application/octet-stream');
  if (q.sample === undefined) return reply.header('content-length', String(st.size)).send(createReadStream(file));
  const format = InputFormat.safeParse(q.sample);
  if (!format.success) throw new ApiaryError('BAD_REQUEST', `sample must be csv, parquet or json, not ${String(q.sample)}`);
  const s = await inputSample(file, format.data, st.size);
  if (s.tailOf !== undefined) reply.header('x-apiary-tail-of', String(s.tailOf));
  return reply.header('content-length', String(s.bytes)).send(s.body);
}

/**
 * PUT /v1/cells/frames/<frame>/staging/<write id>/t<i>/a<attempt>/<file>.parquet with header
 * `x-apiary-sha256`: a cell a remote hive's bee cut for a running write. The queen hashes the bytes
 * as they arrive and keeps the file only if they match; the writer then commits only cells whose
 * queen-side hash equals the task's result (writer.ts).
 */
export async function receiveStagedCell(req: FastifyRequest, reply: FastifyReply, rel: string, root: string, slots: WriteSlots): Promise<FastifyReply> {
  const want = String(req.headers['x-apiary-sha256'] ?? '');
  if (!SHA256.test(want)) throw new ApiaryError('BAD_REQUEST', 'a staged cell needs header x-apiary-sha256 (64 hex digits)');
  if (Number(req.headers['content-length'] ?? 0) > MAX_STAGED_CELL_BYTES) {
    throw new ApiaryError('PAYLOAD_TOO_LARGE', `a staged cell may be at most ${MAX_STAGED_CELL_BYTES} bytes`);
  }
  const body = req.body as Readable;
  const ended = () => new ApiaryError('TASK_NOT_FOUND', `no write running now stages ${rel}`);
  const upload = slots.begin(rel, () => body.destroy(ended()));
  if (!upload) throw ended();
  const file = path.join(root, rel);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.upload`;
  const hash = createHash('sha256');
  let seen = 0;
  let kept: { sha256: string; bytes: number } | null = null;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await pipeline(
      body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          seen += chunk.length;
          if (seen > MAX_STAGED_CELL_BYTES) throw new ApiaryError('PAYLOAD_TOO_LARGE', `a staged cell may be at most ${MAX_STAGED_CELL_BYTES} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { mode: 0o600 }),
    );
    const got = hash.digest('hex');
    if (got !== want) throw new ApiaryError('BAD_REQUEST', `${rel}: the bytes received hash to ${got}, not ${want}; send the cell again`);
    // A write that ended meanwhile waits in WriteSlots.close for this rename, then removes its staging dir.
    await rename(tmp, file);
    kept = { sha256: got, bytes: seen };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    upload.finish(kept);
  }
  return reply.status(201).send({ ok: true, bytes: seen });
}
