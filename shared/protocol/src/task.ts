import { z } from 'zod';

/** Input formats a write reads (DuckDB read_csv_auto / read_parquet / read_json_auto). */
export const InputFormat = z.enum(['csv', 'parquet', 'json']);
export type InputFormat = z.infer<typeof InputFormat>;

/** A task names its work; the colony decides where it runs. */
export const SqlTaskSpec = z.object({
  kind: z.literal('sql'),
  sql: z.string().min(1).max(1_000_000),
  /** Queen-made only (a streamed /v1/sql result): write the rows as NDJSON to this file instead of returning them. */
  stream: z.string().min(1).optional(),
  /**
   * Queen-made only (a write's schema probe): input files on the queen's machine that the SQL names
   * as quoted literals. A hive that fetches cells fetches a sample of each (a Parquet footer, the
   * first rows of a CSV) and names the local copy in the SQL instead.
   */
  samples: z.object({ format: InputFormat, files: z.array(z.string().min(1).max(4096)).max(100_000) }).optional(),
  /**
   * Queen-made only (`--into` of SQL that names no frame): the file under the queen's data root the
   * SQL's COPY writes, named as a quoted literal. A hive that fetches cells has the bee write a local
   * file and sends it back (PUT /v1/cells/…, sha256-checked by the queen).
   */
  output: z.string().min(1).optional(),
});

export const JsTaskSpec = z.object({
  kind: z.literal('js'),
  /** Absolute path or file: URL of an ES module (or CommonJS file) on the hive's machine. */
  module: z.string().min(1).max(4096),
  export: z.string().min(1).max(256).default('default'),
  /** JSON arguments handed to the exported function as its first parameter. */
  args: z.unknown().optional(),
});

/**
 * One share of a frame write: read `inputs` and write Parquet cells of about `targetCellBytes` into
 * `outDir` (a staging dir the queen made; the bee empties it first, so a retry starts clean).
 */
export const WriteTaskSpec = z.object({
  kind: z.literal('write'),
  inputs: z.array(z.string().min(1).max(4096)).min(1).max(100_000),
  format: InputFormat,
  outDir: z.string().min(1).max(4096),
  targetCellBytes: z.number().int().positive(),
  maxCellBytes: z.number().int().positive(),
  partitionBy: z.string().min(1).max(256).optional(),
  /**
   * The write's one schema, inferred by the queen over every input file: the bee reads its files
   * with these names and types, so every task of a write produces the same columns.
   */
  columns: z
    .array(z.object({ name: z.string().min(1), type: z.string().min(1) }))
    .max(10_000)
    .optional(),
  /**
   * Only a share of one Parquet input: its row groups split in `of` runs of about equal rows, and
   * this task writes run `index` (so one large file keeps every bee busy). Needs exactly one input.
   */
  part: z
    .object({ index: z.number().int().nonnegative(), of: z.number().int().min(2).max(1024) })
    .refine((p) => p.index < p.of, { message: 'part.index must be below part.of' })
    .optional(),
});

/**
 * A map step's partial that came back in its task result: column names and DuckDB types, and each
 * row's values as DuckDB's VARCHAR text of them (null for NULL), which a cast back to the type
 * restores exactly (only types for which it does travel inline: @apiary/planner inlineType).
 */
export const InlineRows = z.object({
  columns: z
    .array(z.object({ name: z.string().min(1), type: z.string().min(1) }))
    .min(1)
    .max(10_000),
  rows: z.array(z.array(z.string().nullable())).max(1_000_000),
});
export type InlineRows = z.infer<typeof InlineRows>;

/**
 * SQL over frames, as planned by the queen: each frame is a view over its (pruned) cells, the
 * database can read only `allowDirs` (the data root), and `into` writes the result to a Parquet
 * file (partial aggregates for a merge) instead of returning rows.
 */
export const FrameSqlTaskSpec = z.object({
  kind: z.literal('fsql'),
  sql: z.string().min(1).max(1_000_000),
  views: z.record(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/), z.array(z.string().min(1)).max(100_000)),
  allowDirs: z.array(z.string().min(1)).min(1).max(16),
  into: z.string().min(1).optional(),
  /** A streamed result: write the rows as NDJSON to this file (the queen tails it) instead of returning them. */
  stream: z.string().min(1).optional(),
  /** Checksums and sizes of the cell files named in `views`, for hives that fetch them. */
  cells: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number().int().nonnegative() })).optional(),
  /** A view with no cells (an empty frame) is made from its columns instead. */
  columns: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }))).optional(),
  /**
   * A map step (with `into`): a result of at most this many rows and bytes of text comes back in
   * the task's value (columns, each value as DuckDB's VARCHAR text) and no file is written.
   */
  inlineMax: z
    .object({
      rows: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      /**
       * Read the rows in one statement, no temp table: the map has no GROUP BY (one row), or its
       * partial was inline when the same plan last ran over the same cells. Over the limit after
       * all, the map runs again into the file.
       */
      direct: z.boolean().optional(),
    })
    .optional(),
  /** A merge step: views (also) over rows the map steps returned inline, unioned with the view's files. */
  inline: z.record(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/), InlineRows).optional(),
});
export type FrameSqlTaskSpec = z.infer<typeof FrameSqlTaskSpec>;

/**
 * Plan SQL over frames on a bee (it has DuckDB to parse and render SQL; the planner itself is pure
 * TypeScript in @apiary/planner). `catalog` is the planner's Catalog: the named frames' cells with
 * absolute paths, sizes and statistics, and their columns.
 */
export const PlanTaskSpec = z.object({
  kind: z.literal('plan'),
  sql: z.string().min(1).max(1_000_000),
  catalog: z.array(z.unknown()),
  /** The frame versions the catalog was read from: what the ledger keeps instead of the catalog. */
  frames: z.array(z.object({ frame: z.string(), version: z.number().int().nonnegative() })).optional(),
  bees: z.number().int().positive(),
  targetBytesPerGroup: z.number().int().positive(),
});
export type PlanTaskSpec = z.infer<typeof PlanTaskSpec>;

export const TaskSpec = z.discriminatedUnion('kind', [SqlTaskSpec, JsTaskSpec, WriteTaskSpec, FrameSqlTaskSpec, PlanTaskSpec]);
export type TaskSpec = z.infer<typeof TaskSpec>;

/** The kinds only the queen constructs (from /v1/frames writes and /v1/sql plans); never from a client. */
export const INTERNAL_TASK_KINDS: readonly string[] = ['write', 'fsql', 'plan'];

/**
 * What a client may submit on /v1/tasks: `sql` and `js` only. An internal kind would let a client
 * choose a write task's outDir (which a bee empties) or an fsql task's allowDirs, so it is refused
 * with a message naming the routes that make those tasks.
 */
export const ClientTaskSpec = z.discriminatedUnion('kind', [SqlTaskSpec.omit({ stream: true, samples: true, output: true }), JsTaskSpec], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const kind = (issue.input as { kind?: unknown } | undefined)?.kind;
    if (typeof kind === 'string' && INTERNAL_TASK_KINDS.includes(kind)) {
      return `task kind '${kind}' is internal to the queen; clients submit 'sql' or 'js' (frames: /v1/frames and /v1/sql)`;
    }
    return `task kind must be 'sql' or 'js'`;
  },
});
export type ClientTaskSpec = z.infer<typeof ClientTaskSpec>;
export type SqlTaskSpec = z.infer<typeof SqlTaskSpec>;
export type JsTaskSpec = z.infer<typeof JsTaskSpec>;
export type WriteTaskSpec = z.infer<typeof WriteTaskSpec>;

/** Limits that travel with a task; unset ones take the hive's configured defaults. */
export const TaskLimits = z.object({
  timeoutMs: z.number().int().positive().max(86_400_000).optional(),
  /** Attempts in all before a task failing for the colony's reasons is abandoned (default 3). */
  maxAttempts: z.number().int().min(1).max(20).optional(),
  /** Retry user errors too (SQL_ERROR, a js task that throws): for tasks that can fail transiently. */
  retryUserErrors: z.boolean().optional(),
});
export type TaskLimits = z.infer<typeof TaskLimits>;

/** A column of a SQL result: name and DuckDB type name. */
export const Column = z.object({ name: z.string(), type: z.string() });
export type Column = z.infer<typeof Column>;

/**
 * The value a task produces. SQL results are JSON-safe rows (BIGINTs within 2^53 become numbers,
 * larger ones strings; dates and timestamps ISO strings) plus their columns.
 */
export const SqlResult = z.object({
  kind: z.literal('sql'),
  columns: z.array(Column),
  rows: z.array(z.record(z.string(), z.unknown())),
});
export const JsResult = z.object({ kind: z.literal('js'), value: z.unknown() });

/** Per-column statistics of a cell; min/max are null when unknown (nested types, long strings). */
export const ColumnStats = z.object({ min: z.unknown(), max: z.unknown(), null_count: z.number().int().nonnegative() });
export type ColumnStats = z.infer<typeof ColumnStats>;

/** One Parquet cell a write task produced; `file` is relative to the task's outDir. */
export const CellWritten = z.object({
  file: z.string().min(1),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  stats: z.record(z.string(), ColumnStats),
});
export type CellWritten = z.infer<typeof CellWritten>;

export const WriteResult = z.object({ kind: z.literal('write'), schema: z.array(Column), cells: z.array(CellWritten) });
export type WriteResult = z.infer<typeof WriteResult>;

/** A rendered plan (@apiary/planner's RenderedPlan) and its explain text. */
export const PlanResult = z.object({ kind: z.literal('plan'), plan: z.unknown(), explain: z.string() });
export const TaskValue = z.discriminatedUnion('kind', [SqlResult, JsResult, WriteResult, PlanResult]);
export type SqlResult = z.infer<typeof SqlResult>;
export type TaskValue = z.infer<typeof TaskValue>;

/** Where and how long an attempt ran: kept for diagnostics. */
export const AttemptInfo = z.object({
  hive: z.string(),
  bee: z.number().int(),
  startedAt: z.number(),
  durationMs: z.number(),
  /** The attempt token the queen sent with this dispatch (see specs/protocol.md); absent on attempts from before tokens. */
  token: z.string().optional(),
});
export type AttemptInfo = z.infer<typeof AttemptInfo>;
