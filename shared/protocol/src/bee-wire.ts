import { z } from 'zod';
import { TaskSpec, TaskValue } from './task.js';
import { WireErrorSchema } from './wire-error.js';

/*
 * Hive ↔ bee: Node IPC on the forked process, one JSON message per line (BEE_IPC_SERIALIZATION, in
 * bee-env.ts with the rest of the fork-time contract: a keeper forks its first bee before zod loads).
 */

// hive → bee
export const BeeRun = z.object({ type: z.literal('run'), taskId: z.string(), spec: TaskSpec, scratchDir: z.string() });
/**
 * Several tasks at once (the bee pipeline): the bee queues them and runs them one after another, in
 * order, as if each came in its own `run`. One message instead of one per task while tasks are short.
 */
export const BeeRuns = z.object({ type: z.literal('runs'), tasks: z.array(BeeRun.omit({ type: true })).min(1) });
/**
 * Fire the running JS task's ctx.signal (cancel or timeout); the hive kills the bee if the task has
 * not settled within its grace. For a task still queued in the bee: drop it, answered with `error` of that code.
 */
export const BeeAbort = z.object({ type: z.literal('abort'), taskId: z.string(), code: z.enum(['TASK_CANCELLED', 'TASK_TIMEOUT']), message: z.string() });
export const HiveToBee = z.discriminatedUnion('type', [BeeRun, BeeRuns, BeeAbort]);
export type HiveToBee = z.infer<typeof HiveToBee>;

// bee → hive
export const BeeReady = z.object({ type: z.literal('ready'), pid: z.number().int(), duckdb: z.string() });
export const BeeResult = z.object({ type: z.literal('result'), taskId: z.string(), value: TaskValue });
export const BeeError = z.object({ type: z.literal('error'), taskId: z.string(), error: WireErrorSchema });
/**
 * What a task's JS code wrote to process.stdout/stderr (console included), tagged with its task: with
 * tasks queued in a bee, its pipes cannot tell whose output they carry. `cut`: bytes dropped before
 * this (the channel was backed up). A child's writes to the inherited fds still go down the pipes.
 */
export const BeeOutput = z.object({
  type: z.literal('output'),
  taskId: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  data: z.string(),
  cut: z.number().int().nonnegative().optional(),
});
export const BeeToHive = z.discriminatedUnion('type', [BeeReady, BeeResult, BeeError, BeeOutput]);
export type BeeToHive = z.infer<typeof BeeToHive>;
export type BeeRun = z.infer<typeof BeeRun>;
export type BeeRuns = z.infer<typeof BeeRuns>;
export type BeeOutput = z.infer<typeof BeeOutput>;
export type BeeAbort = z.infer<typeof BeeAbort>;
export type BeeReady = z.infer<typeof BeeReady>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * A bee message, checked by shape only (the zod schemas above are the contract, and documentation).
 * Both ends are the same build and the values were validated where they entered the colony (a spec
 * by the queen and again by the hive's link; a result by the queen): a full zod parse per message
 * was a measurable share of a tiny task's CPU at both ends. Throws on anything malformed.
 */
export function checkBeeToHive(raw: unknown): BeeToHive {
  if (isObj(raw)) {
    const t = raw.type;
    if (t === 'result' && isStr(raw.taskId) && isObj(raw.value) && isStr(raw.value.kind)) return raw as BeeToHive;
    if (t === 'error' && isStr(raw.taskId) && isObj(raw.error) && isStr(raw.error.code) && isStr(raw.error.message)) return raw as BeeToHive;
    if (t === 'output' && isStr(raw.taskId) && (raw.stream === 'stdout' || raw.stream === 'stderr') && isStr(raw.data)) return raw as BeeToHive;
    if (t === 'ready') return BeeReady.parse(raw);
  }
  throw new Error(`invalid bee→hive message: ${JSON.stringify(raw)?.slice(0, 200)}`);
}

/** A hive message, checked by shape only (see checkBeeToHive). Throws on anything malformed. */
export function checkHiveToBee(raw: unknown): HiveToBee {
  if (isObj(raw)) {
    const t = raw.type;
    const runOk = (r: unknown) => isObj(r) && isStr(r.taskId) && isStr(r.scratchDir) && isObj(r.spec) && isStr(r.spec.kind);
    if (t === 'run' && runOk(raw)) return raw as HiveToBee;
    if (t === 'runs' && Array.isArray(raw.tasks) && raw.tasks.length > 0 && raw.tasks.every(runOk)) return raw as HiveToBee;
    if (t === 'abort') return BeeAbort.parse(raw);
  }
  throw new Error(`invalid hive→bee message: ${JSON.stringify(raw)?.slice(0, 200)}`);
}
