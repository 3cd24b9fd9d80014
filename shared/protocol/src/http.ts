import { z } from 'zod';
import { ClientTaskSpec, TaskLimits, TaskValue, AttemptInfo } from './task.js';
import { BeeStatus, HiveResources } from './status.js';
import { WireErrorSchema } from './wire-error.js';

/*
 * Client ↔ queen HTTP API under /v1. Bearer token on every route but /v1/health.
 * Errors are `{ code, message }` bodies with a matching HTTP status.
 */

export const TaskState = z.enum(['queued', 'running', 'succeeded', 'failed', 'abandoned', 'cancelled']);
export type TaskState = z.infer<typeof TaskState>;
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'abandoned', 'cancelled']);

/** A client's task: only `sql` and `js` specs (internal kinds are the queen's; see ClientTaskSpec). */
export const SubmitTask = z.object({
  spec: ClientTaskSpec,
  limits: TaskLimits.default({}),
});
export type SubmitTask = z.infer<typeof SubmitTask>;

export const AttemptView = AttemptInfo.extend({
  attempt: z.number().int().positive(),
  error: WireErrorSchema.nullable(),
  /**
   * What the attempt printed (stdout and stderr interleaved in arrival order): the last
   * TASK_OUTPUT_MAX_BYTES (64 KiB), starting with TASK_OUTPUT_CUT_MARKER when earlier output was
   * dropped. Only on GET /v1/tasks/:id (and POST /v1/tasks), and only for attempts that printed.
   */
  output: z.string().optional(),
});
export type AttemptView = z.infer<typeof AttemptView>;

export const TaskView = z.object({
  id: z.string(),
  state: TaskState,
  kind: z.enum(['sql', 'js', 'write', 'fsql', 'plan']),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  attempts: z.array(AttemptView),
  value: TaskValue.nullable(),
  error: WireErrorSchema.nullable(),
});
export type TaskView = z.infer<typeof TaskView>;
export const TaskList = z.object({ tasks: z.array(TaskView) });
export type TaskList = z.infer<typeof TaskList>;

export const WaitQuery = z.object({
  /** Long-poll: hold the request until the task is terminal or this many ms pass. */
  waitMs: z.coerce.number().int().min(0).max(60_000).default(0),
});

export const HiveView = z.object({
  id: z.string(),
  state: z.enum(['ready', 'draining', 'lost']),
  resources: HiveResources,
  lastHeartbeatAt: z.number(),
  bees: z.array(BeeStatus),
  queued: z.number().int(),
  inFlight: z.number().int(),
});
export type HiveView = z.infer<typeof HiveView>;

/** Colony temperature (see specs/behaviours.md) and what it currently means for admission. */
export const TemperatureView = z.object({
  value: z.number().min(0).max(1),
  level: z.enum(['cold', 'ideal', 'warm', 'hot', 'critical']),
  cpu: z.number(),
  memoryPressure: z.number(),
  queuePressure: z.number(),
  /** Empty when everything is admitted; e.g. "refusing new tasks (COLONY_CRITICAL)". */
  regulation: z.string(),
});
export type TemperatureView = z.infer<typeof TemperatureView>;

export const ColonyView = z.object({
  queen: z.object({ pid: z.number(), state: z.string(), ephemeral: z.boolean(), startedAt: z.number() }),
  temperature: TemperatureView,
  hives: z.array(HiveView),
  queued: z.number().int(),
  running: z.number().int(),
});
export type ColonyView = z.infer<typeof ColonyView>;
export const HiveList = z.object({ hives: z.array(HiveView) });
export type HiveList = z.infer<typeof HiveList>;

/** GET /v1/health: the one route without a token. */
export const Health = z.object({ ok: z.boolean(), state: z.string(), pid: z.number() });

/** Up to 10,000 tasks recorded in one transaction and acknowledged together. */
export const SubmitBatch = z.object({ tasks: z.array(SubmitTask).min(1).max(10_000) });
export type SubmitBatch = z.infer<typeof SubmitBatch>;
export const BatchAccepted = z.object({ ids: z.array(z.string()) });
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/** Wait for many tasks at once: returns when all are terminal or waitMs pass. */
export const WaitMany = z.object({
  ids: z.array(z.string()).min(1).max(10_000),
  waitMs: z.number().int().min(0).max(60_000).default(0),
});
export type WaitMany = z.infer<typeof WaitMany>;

export const ListQuery = z.object({
  state: TaskState.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

export const ShutdownRequest = z.object({
  /** Leave hives this queen did not start running; they reconnect to the next queen. */
  keepHives: z.boolean().default(false),
});

/** One server-sent event per task state change on GET /v1/events. */
export const TaskEvent = z.object({
  id: z.string(),
  state: TaskState,
  attempt: z.number().int().nonnegative(),
  error: WireErrorSchema.nullable(),
  at: z.number(),
});
export type TaskEvent = z.infer<typeof TaskEvent>;
/** GET /v1/events?task=ID: only that task's events (and its output). */
export const EventsQuery = z.object({ task: z.string().optional() });

export const StopHiveRequest = z.object({ graceMs: z.number().int().min(0).max(600_000).optional() });
/** The answer to a stop request (hive or queen): it is under way, not done. */
export const Stopping = z.object({ ok: z.literal(true), keepHives: z.boolean().optional() });
export type Stopping = z.infer<typeof Stopping>;

/**
 * POST /v1/admin/prune: delete finished tasks (rows, attempts, result files) now. Unset fields take
 * the queen's retention policy (--retain-for, --retain-tasks). Queued and running tasks are never pruned.
 */
export const PruneRequest = z.object({
  /** Prune tasks that finished longer ago than this. */
  olderThanMs: z.number().int().min(0).optional(),
  /** Keep at most this many finished tasks (the newest). */
  keep: z.number().int().min(0).optional(),
});
export type PruneRequest = z.infer<typeof PruneRequest>;
export const PruneResponse = z.object({ pruned: z.number().int().nonnegative(), durationMs: z.number().nonnegative() });
export type PruneResponse = z.infer<typeof PruneResponse>;

/** One host of the cluster's node registry (PUT /v1/nodes/:name, GET /v1/nodes). */
export const NodeRecord = z.object({
  name: z.string().min(1).max(128),
  address: z.string().min(1).max(256),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(64),
  keyPath: z.string().max(4096),
  installDir: z.string().max(4096),
  labels: z.record(z.string(), z.string()),
  lastSeen: z.number().nullable(),
  lastError: z.string().max(4096).nullable(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;
export const NodeList = z.object({ nodes: z.array(NodeRecord) });
export type NodeList = z.infer<typeof NodeList>;
export const NodeParams = z.object({ name: z.string() });

/** POST /v1/sql: SQL that may name frames; the queen plans it and bees run it. */
export const SqlRequest = z.object({
  sql: z.string().min(1).max(1_000_000),
  /** Only plan: return the plan text, run nothing. */
  explain: z.boolean().default(false),
  limits: TaskLimits.default({}),
  /** Write the result to this frame (a new version) instead of returning rows: for large results. */
  into: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a frame name: lower-case letters, digits, underscore')
    .optional(),
  intoMode: z.enum(['append', 'overwrite']).default('overwrite'),
  /**
   * `json`: one SqlResponse, held whole (RESULT_TOO_LARGE over the caps). `ndjson` and `csv` stream
   * the rows as the bee produces them, with no size cap (specs/frames.md#streamed-results).
   */
  format: z.enum(['json', 'ndjson', 'csv']).default('json'),
});
export type SqlRequest = z.infer<typeof SqlRequest>;

export const SqlResponse = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.record(z.string(), z.unknown())),
  /** The plan, for frame queries (and always with explain). */
  explain: z.string().nullable(),
  tasks: z.array(z.string()),
  /** With `into`: the write's result ({ frame, version, cells_written, … }). */
  written: z.record(z.string(), z.unknown()).nullable().default(null),
});
export type SqlResponse = z.infer<typeof SqlResponse>;
