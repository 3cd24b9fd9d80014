import { z } from 'zod';
import { TaskSpec, TaskLimits, TaskValue, AttemptInfo } from './task.js';
import { BeeStatus, HiveResources } from './status.js';
import { WireErrorSchema } from './wire-error.js';

/*
 * Client ↔ queen HTTP API under /v1. Bearer token on every route but /v1/health.
 * Errors are `{ code, message }` bodies with a matching HTTP status.
 */

export const TaskState = z.enum(['queued', 'running', 'succeeded', 'failed', 'abandoned', 'cancelled']);
export type TaskState = z.infer<typeof TaskState>;
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'abandoned', 'cancelled']);

export const SubmitTask = z.object({
  spec: TaskSpec,
  limits: TaskLimits.default({}),
});
export type SubmitTask = z.infer<typeof SubmitTask>;

export const AttemptView = AttemptInfo.extend({
  attempt: z.number().int().positive(),
  error: WireErrorSchema.nullable(),
});
export type AttemptView = z.infer<typeof AttemptView>;

export const TaskView = z.object({
  id: z.string(),
  state: TaskState,
  kind: z.enum(['sql', 'js']),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  attempts: z.array(AttemptView),
  value: TaskValue.nullable(),
  error: WireErrorSchema.nullable(),
});
export type TaskView = z.infer<typeof TaskView>;

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

export const ColonyView = z.object({
  queen: z.object({ pid: z.number(), state: z.string(), ephemeral: z.boolean(), startedAt: z.number() }),
  hives: z.array(HiveView),
  queued: z.number().int(),
  running: z.number().int(),
});
export type ColonyView = z.infer<typeof ColonyView>;
