import { z } from 'zod';
import { TaskSpec, TaskValue } from './task.js';
import { WireErrorSchema } from './wire-error.js';

/*
 * Hive ↔ bee: Node IPC on the forked process, one JSON message per line (BEE_IPC_SERIALIZATION).
 */

/**
 * The bee channel's serialization. Every value on it is JSON already (a result goes on to the queen
 * as JSON), and Node's 'json' mode costs about half the CPU per message of 'advanced' (structured
 * clone through a JS v8.Serializer) for the small messages of tiny tasks: measured 30-35 vs 65-80 µs
 * of parent + child CPU per round trip (raw fork IPC, 2 children).
 */
export const BEE_IPC_SERIALIZATION = 'json' as const;

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
