import type { FastifyInstance } from 'fastify';
import {
  FrameDetail,
  FrameDropped,
  FrameList,
  FrameParams,
  frameNameError,
  VacuumRequest,
  VacuumResponse,
  WireErrorSchema,
  WriteRequest,
  WriteResponse,
} from '@apiary/protocol';
import type { FrameCatalog } from '../frames/catalog.js';
import type { FrameVacuum } from '../frames/vacuum.js';
import type { FrameWriter } from '../frames/writer.js';
import { described, part, type ZodTypeProvider } from './route-schema.js';
import type { ProgressRegistry } from '../progress/progress-registry.js';
import { followRequest } from './routes-progress.js';

export interface FrameRouteDeps {
  frames: { catalog: FrameCatalog; writer: FrameWriter; vacuum: FrameVacuum; dataRoot: string };
}

/**
 * Frames: POST /v1/frames/:name/write (waits for the write: one atomic version, or an error and no
 * version), GET /v1/frames, GET /v1/frames/:name, DELETE /v1/frames/:name, POST /v1/frames/vacuum.
 */
/** A frame route's :name: a bad one is FRAME_NAME_INVALID, before the body is looked at. */
export const frameParams = part(FrameParams, { what: 'frame name', error: (p) => frameNameError((p as { name?: unknown } | undefined)?.name) });
const invalidName = described(WireErrorSchema, 'FRAME_NAME_INVALID');
const notFound = described(WireErrorSchema, 'FRAME_NOT_FOUND');

export function registerFrameRoutes(fastify: FastifyInstance, deps: FrameRouteDeps, progress: ProgressRegistry): void {
  const { catalog, writer, vacuum, dataRoot } = deps.frames;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  const write = {
    summary: 'Write files (path or glob on the queen machine) as the next version of a frame; waits for the write',
    params: frameParams,
    body: part(WriteRequest, 'write request'),
    response: {
      200: WriteResponse,
      400: described(WireErrorSchema, 'BAD_REQUEST, FRAME_NAME_INVALID, INPUT_NOT_FOUND or SQL_ERROR (unreadable input)'),
      409: described(WireErrorSchema, 'FRAME_SCHEMA_MISMATCH: an append with other columns'),
      503: described(WireErrorSchema, 'COLONY_HOT (stayed hot for the whole wait), QUEEN_DRAINING or NO_HIVES; Retry-After when retryable'),
      500: described(WireErrorSchema, 'TASK_ABANDONED, BEE_CRASHED, … : a write task failed; no version was recorded'),
    },
  };
  app.post('/v1/frames/:name/write', { schema: write }, async (req, reply) => {
    const { name } = req.params;
    const body = req.body;
    // The client hanging up cancels the write's tasks: no one would learn its version.
    const ac = new AbortController();
    reply.raw.once('close', () => reply.raw.writableFinished || ac.abort());
    return writer.write(name, body, ac.signal, followRequest(progress, req, reply, 'write', 'submit'));
  });

  const list = { summary: 'Frames: current version, versions, rows, cells, bytes', response: { 200: FrameList } };
  app.get('/v1/frames', { schema: list }, async () => ({ frames: catalog.list() }));

  const describe = {
    summary: "A frame's schema, per-column stats, cells and version history",
    params: frameParams,
    response: { 200: FrameDetail, 400: invalidName, 404: notFound },
  };
  app.get('/v1/frames/:name', { schema: describe }, async (req) => catalog.describe(req.params.name, dataRoot));

  const drop = {
    summary: 'Drop a frame: catalog entries and cell files',
    params: frameParams,
    response: { 200: FrameDropped, 400: invalidName, 404: notFound },
  };
  app.delete('/v1/frames/:name', { schema: drop }, async (req) => writer.drop(req.params.name));

  const vacuumRoute = {
    summary:
      'Delete the versions of one frame (body.frame) or of every frame older than the last --keep-versions, and the cells no kept version lists; versions a running query reads go when it ends',
    body: part(VacuumRequest, { what: 'vacuum request', emptyAs: {} }),
    response: { 200: VacuumResponse, 400: described(WireErrorSchema, 'FRAME_NAME_INVALID, or BAD_REQUEST for a body off the schema'), 404: notFound },
  };
  app.post('/v1/frames/vacuum', { schema: vacuumRoute }, async (req) => vacuum.vacuum(req.body.frame));
}
