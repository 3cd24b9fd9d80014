import { z } from 'zod';
import { ApiaryError } from './errors.js';
import { Column, ColumnStats, InputFormat } from './task.js';
import { TemperatureView } from './http.js';

/*
 * Frames (named tables of Parquet cells) over HTTP: POST /v1/frames/:name/write, GET /v1/frames,
 * GET /v1/frames/:name, DELETE /v1/frames/:name, POST /v1/frames/vacuum.
 */

/** Frame names are SQL identifiers that need no quoting and are safe as directory names. */
export const FRAME_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkFrameName(name: string): string {
  if (!FRAME_NAME.test(name)) throw frameNameError(name);
  return name;
}

export function frameNameError(name: unknown): ApiaryError {
  return new ApiaryError(
    'FRAME_NAME_INVALID',
    `invalid frame name ${JSON.stringify(name)}: use 1-63 lower-case letters, digits and _, not starting with a digit`,
  );
}

export const WriteMode = z.enum(['append', 'overwrite']);
export type WriteMode = z.infer<typeof WriteMode>;

/** The :name of a frame route; a bad name is FRAME_NAME_INVALID with checkFrameName's message. */
export const FrameParams = z.object({ name: z.string().regex(FRAME_NAME) });

/** PUT /v1/frames/:name/upload's query: the body is the input file itself (see WriteRequest). */
export const UploadQuery = z.object({
  format: InputFormat,
  mode: WriteMode.default('append'),
  partitionBy: z.string().min(1).max(256).optional(),
  maxAttempts: z.coerce.number().int().min(1).max(20).optional(),
  timeoutMs: z.coerce.number().int().positive().max(86_400_000).optional(),
});
export type UploadQuery = z.infer<typeof UploadQuery>;

export const WriteRequest = z.object({
  /** Absolute path or glob on the queen's machine (the keeper resolves relative ones). */
  path: z.string().min(1).max(4096),
  /** Default: from the file extension (.csv/.tsv, .parquet, .json/.jsonl/.ndjson). */
  format: InputFormat.optional(),
  mode: WriteMode.default('append'),
  partitionBy: z.string().min(1).max(256).optional(),
  /** Attempts in all for each of the write's tasks (default: the queen's, 3). */
  maxAttempts: z.number().int().min(1).max(20).optional(),
  timeoutMs: z.number().int().positive().max(86_400_000).optional(),
});
export type WriteRequest = z.infer<typeof WriteRequest>;

export const WriteResponse = z.object({
  frame: z.string(),
  version: z.number().int().positive(),
  cells_written: z.number().int().nonnegative(),
  rows_written: z.number().int().nonnegative(),
  bytes_written: z.number().int().nonnegative(),
  duration_ms: z.number().nonnegative(),
  temperature: TemperatureView,
});
export type WriteResponse = z.infer<typeof WriteResponse>;

/** A frame as listed: figures are those of its current version. */
export const FrameSummary = z.object({
  name: z.string(),
  version: z.number().int().nonnegative(),
  versions: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  cells: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** Bytes of every cell on disk: the current version's and those of older versions still kept. */
  diskBytes: z.number().int().nonnegative(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type FrameSummary = z.infer<typeof FrameSummary>;
export const FrameList = z.object({ frames: z.array(FrameSummary) });
export type FrameList = z.infer<typeof FrameList>;
/** DELETE /v1/frames/:name. */
export const FrameDropped = z.object({ frame: z.string(), cells_deleted: z.number().int().nonnegative() });
export type FrameDropped = z.infer<typeof FrameDropped>;

/** POST /v1/frames/vacuum: one frame, or every frame when `frame` is absent. */
export const VacuumRequest = z.object({ frame: z.string().min(1).max(256).optional() });
export type VacuumRequest = z.infer<typeof VacuumRequest>;
export const FrameVacuumed = z.object({
  frame: z.string(),
  /** Versions removed from the catalog (older than the last `keep`). */
  versions_removed: z.array(z.number().int().positive()),
  /** Old versions a running query reads: kept until it ends, then removed. */
  versions_deferred: z.array(z.number().int().positive()),
  cells_deleted: z.number().int().nonnegative(),
  bytes_freed: z.number().int().nonnegative(),
});
export type FrameVacuumed = z.infer<typeof FrameVacuumed>;
export const VacuumResponse = z.object({ keep: z.number().int().positive(), frames: z.array(FrameVacuumed) });
export type VacuumResponse = z.infer<typeof VacuumResponse>;

export const CellView = z.object({
  id: z.string(),
  /** Relative to the queen's data root. */
  path: z.string(),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  stats: z.record(z.string(), ColumnStats),
});
export type CellView = z.infer<typeof CellView>;

export const VersionView = z.object({
  version: z.number().int().positive(),
  mode: WriteMode,
  createdAt: z.number(),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  cells: z.number().int().nonnegative(),
});
export type VersionView = z.infer<typeof VersionView>;

/** GET /v1/frames/:name: schema, per-column stats over the current version, its cells and history. */
export const FrameDetail = FrameSummary.extend({
  dataRoot: z.string(),
  schema: z.array(Column),
  columns: z.array(Column.extend({ min: z.unknown(), max: z.unknown(), null_count: z.number().int().nonnegative() })),
  cellList: z.array(CellView),
  history: z.array(VersionView),
});
export type FrameDetail = z.infer<typeof FrameDetail>;
