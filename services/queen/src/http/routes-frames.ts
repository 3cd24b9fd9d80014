import type { FastifyInstance } from 'fastify';
import { checkFrameName, validate, WriteRequest, type FrameDetail, type FrameSummary } from '@apiary/protocol';
import type { FrameCatalog } from '../frames/catalog.js';
import type { FrameWriter } from '../frames/writer.js';

export interface FrameRouteDeps {
  frames: { catalog: FrameCatalog; writer: FrameWriter; dataRoot: string };
}

/**
 * Frames: POST /v1/frames/:name/write (waits for the write: one atomic version, or an error and no
 * version), GET /v1/frames, GET /v1/frames/:name, DELETE /v1/frames/:name.
 */
export function registerFrameRoutes(app: FastifyInstance, deps: FrameRouteDeps): void {
  const { catalog, writer, dataRoot } = deps.frames;

  app.post<{ Params: { name: string } }>('/v1/frames/:name/write', async (req, reply) => {
    const name = checkFrameName(req.params.name);
    const body = validate(WriteRequest, req.body, 'write request');
    // The client hanging up cancels the write's tasks: no one would learn its version.
    const ac = new AbortController();
    reply.raw.once('close', () => reply.raw.writableFinished || ac.abort());
    return writer.write(name, body, ac.signal);
  });

  app.get('/v1/frames', async (): Promise<{ frames: FrameSummary[] }> => ({ frames: catalog.list() }));

  app.get<{ Params: { name: string } }>('/v1/frames/:name', async (req): Promise<FrameDetail> => catalog.describe(checkFrameName(req.params.name), dataRoot));

  app.delete<{ Params: { name: string } }>('/v1/frames/:name', async (req) => writer.drop(checkFrameName(req.params.name)));
}
