import { z } from 'zod';
import { TaskSpec, TaskLimits, TaskValue } from './task.js';
import { BeeState, BeeStatus, HiveResources } from './status.js';
import { WireErrorSchema } from './wire-error.js';
import { OutputStream } from './task-output.js';

/*
 * Hive ↔ queen: one WebSocket opened by the hive, JSON text packets, each one message or an array of
 * messages (see PacketBatcher). Every message is validated against these unions on arrival.
 */

/**
 * Every dispatch names its attempt by a token the queen made and recorded before sending it (see
 * specs/protocol.md, "Attempt tokens"): `<queen epoch>.<attempt>.<random>`. Results, starts and
 * reconnect claims carry it back; the queen accepts them only for the current attempt on the hive
 * that holds it.
 */
export const AttemptToken = z.string().min(1).max(64);
const TaskRef = { taskId: z.string().min(1).max(128), attempt: z.number().int().positive(), token: AttemptToken };

// hive → queen
export const Hello = z.object({
  type: z.literal('hello'),
  protocol: z.literal(1),
  token: z.string().min(1).max(512),
  hive: HiveResources,
  /**
   * Attempts the hive still holds (after a reconnect): running or queued ones, and finished ones
   * whose result the queen has not acknowledged yet (resent after welcome), so the queen reconciles them.
   */
  running: z.array(z.object(TaskRef)).max(100_000).default([]),
});
export const Heartbeat = z.object({
  type: z.literal('heartbeat'),
  at: z.number(),
  bees: z.array(BeeStatus),
  queued: z.number().int().nonnegative(),
  loadAvg: z.number().nonnegative(),
  freeMemoryBytes: z.number().nonnegative(),
  /** Cells this hive holds in its cache (paths relative to the queen's data root), for placement. */
  cachedCells: z.array(z.string()).max(100_000).optional(),
  /** The hive reads the queen's data root in place: it holds every cell. */
  dataInPlace: z.boolean().optional(),
});
export const TaskStarted = z.object({ type: z.literal('task.started'), ...TaskRef, bee: z.number().int(), at: z.number() });
export const TaskSucceeded = z.object({
  type: z.literal('task.succeeded'),
  ...TaskRef,
  bee: z.number().int(),
  value: TaskValue,
  durationMs: z.number().nonnegative(),
  /** The bee's state right after the task, so the queen's view is exact between heartbeats. */
  beeState: BeeState,
});
export const TaskFailed = z.object({
  type: z.literal('task.failed'),
  ...TaskRef,
  bee: z.number().int(),
  error: WireErrorSchema,
  durationMs: z.number().nonnegative(),
  beeState: BeeState,
});

/**
 * What a running attempt printed since the last one (stdout/stderr in arrival order), at most one
 * per OUTPUT_FLUSH_MS per attempt and only when it printed; `cut` bytes before these were dropped
 * (more than TASK_OUTPUT_MAX_BYTES waited). Always sent before the attempt's result.
 */
export const TaskOutput = z.object({
  type: z.literal('task.output'),
  taskId: z.string().min(1).max(128),
  attempt: z.number().int().positive(),
  chunks: z.array(z.object({ stream: OutputStream, data: z.string() })).max(10_000),
  cut: z.number().int().nonnegative(),
});

export const HiveToQueen = z.discriminatedUnion('type', [Hello, Heartbeat, TaskStarted, TaskSucceeded, TaskFailed, TaskOutput]);
export type HiveToQueen = z.infer<typeof HiveToQueen>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStrIn = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
const BEE_STATES: ReadonlySet<unknown> = new Set(BeeState.options);
const isRef = (m: Record<string, unknown>) => isStrIn(m.taskId, 128) && isInt(m.attempt) && m.attempt > 0 && isStrIn(m.token, 64);

/**
 * The messages of every task, `task.started` and a js task's `task.succeeded`, checked against their
 * schemas above by direct tests (a zod parse of each was ~160 µs of the queen's CPU per lone task
 * while cold) and rebuilt with only the schema's keys, as the parse would. Returns undefined for
 * anything else, valid or not: the caller parses that with HiveToQueen, which words the error.
 */
export function checkHotHiveToQueen(raw: unknown): HiveToQueen | undefined {
  if (!isObj(raw) || !isRef(raw) || !isInt(raw.bee)) return undefined;
  const { taskId, attempt, token, bee } = raw as { taskId: string; attempt: number; token: string; bee: number };
  if (raw.type === 'task.started') return isNum(raw.at) ? { type: 'task.started', taskId, attempt, token, bee, at: raw.at } : undefined;
  if (raw.type !== 'task.succeeded') return undefined;
  const v = raw.value;
  if (!isObj(v) || v.kind !== 'js' || !('value' in v) || !isNum(raw.durationMs) || raw.durationMs < 0 || !BEE_STATES.has(raw.beeState)) return undefined;
  const beeState = raw.beeState as BeeState;
  return { type: 'task.succeeded', taskId, attempt, token, bee, value: { kind: 'js', value: v.value }, durationMs: raw.durationMs, beeState };
}

// queen → hive
export const Welcome = z.object({
  type: z.literal('welcome'),
  hiveId: z.string(),
  heartbeatMs: z.number().int().positive(),
  /**
   * The queen's data root and a probe file in it: a hive that reads the probe's content sees the
   * same filesystem and reads cells in place; any other hive fetches them over HTTP.
   */
  data: z.object({ root: z.string(), probe: z.string(), probeContent: z.string() }).optional(),
});
export const TaskAssign = z.object({
  type: z.literal('task.assign'),
  ...TaskRef,
  spec: TaskSpec,
  limits: TaskLimits,
  /** Bees of this hive that already failed this task: a retry prefers another bee. */
  avoidBees: z.array(z.number().int()).default([]),
});
export const TaskCancel = z.object({ type: z.literal('task.cancel'), taskId: z.string() });
/**
 * Sent after the queen committed what a result did to the ledger (accepted: true), or after it
 * refused the result as not the current attempt of this hive (accepted: false, STALE_ATTEMPT).
 * Either way the hive stops keeping it for resending.
 */
export const ResultAck = z.object({ type: z.literal('result.ack'), ...TaskRef, accepted: z.boolean() });
export const Shutdown = z.object({ type: z.literal('shutdown'), graceMs: z.number().int().nonnegative() });
export const QueenError = z.object({ type: z.literal('error'), error: WireErrorSchema });

export const QueenToHive = z.discriminatedUnion('type', [Welcome, TaskAssign, TaskCancel, ResultAck, Shutdown, QueenError]);
export type QueenToHive = z.infer<typeof QueenToHive>;

/** WebSocket close codes apiary uses (4000-4999 is the application range). */
export const CloseCodes = {
  AUTH_FAILED: 4401,
  BAD_MESSAGE: 4400,
  SHUTDOWN: 4000,
} as const;
export type Hello = z.infer<typeof Hello>;
export type Heartbeat = z.infer<typeof Heartbeat>;
export type TaskAssign = z.infer<typeof TaskAssign>;
export type TaskSucceeded = z.infer<typeof TaskSucceeded>;
export type TaskFailed = z.infer<typeof TaskFailed>;
export type TaskOutput = z.infer<typeof TaskOutput>;
export type ResultAck = z.infer<typeof ResultAck>;
