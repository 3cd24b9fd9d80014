import { z } from 'zod';
import { TaskSpec, TaskValue } from './task.js';
import { WireErrorSchema } from './wire-error.js';

/*
 * Hive ↔ bee: Node IPC on the forked process, one JSON message per line (BEE_IPC_SERIALIZATION, in
 * bee-env.ts with the rest of the fork-time contract: a keeper forks its first bee before zod loads).
 */

// hive → bee
export const BeeRun = z.object({ type: z.literal('run'), taskId: z.string(), spec: TaskSpec, scratchDir: z.string() });
/** Fire the running JS task's ctx.signal (cancel or timeout); the hive kills the bee if the task has not settled within its grace. */
export const BeeAbort = z.object({ type: z.literal('abort'), taskId: z.string(), code: z.enum(['TASK_CANCELLED', 'TASK_TIMEOUT']), message: z.string() });
export const HiveToBee = z.discriminatedUnion('type', [BeeRun, BeeAbort]);
export type HiveToBee = z.infer<typeof HiveToBee>;

// bee → hive
export const BeeReady = z.object({ type: z.literal('ready'), pid: z.number().int(), duckdb: z.string() });
export const BeeResult = z.object({ type: z.literal('result'), taskId: z.string(), value: TaskValue });
export const BeeError = z.object({ type: z.literal('error'), taskId: z.string(), error: WireErrorSchema });
export const BeeToHive = z.discriminatedUnion('type', [BeeReady, BeeResult, BeeError]);
export type BeeToHive = z.infer<typeof BeeToHive>;
export type BeeRun = z.infer<typeof BeeRun>;
export type BeeAbort = z.infer<typeof BeeAbort>;
export type BeeReady = z.infer<typeof BeeReady>;
