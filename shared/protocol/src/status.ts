import { z } from 'zod';

/** Bee lifecycle, see specs/lifecycle.md. */
export const BeeState = z.enum(['starting', 'idle', 'busy', 'stopping', 'exited']);
export type BeeState = z.infer<typeof BeeState>;

export const BeeStatus = z.object({
  id: z.number().int().nonnegative(),
  pid: z.number().int().nullable(),
  state: BeeState,
  taskId: z.string().nullable(),
  /** RSS of the bee's whole process tree, sampled by the chamber's monitor. */
  rssBytes: z.number().nonnegative(),
  budgetBytes: z.number().positive(),
  /** CPU of the bee's tree since the last sample, 0..100 per core. */
  cpuPercent: z.number().nonnegative(),
  tasksRun: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
  /** The restarts split by why the previous bee went (older hives omit it: all counted as crash). */
  restartReasons: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Set while the bee's memory cannot be read (MEMORY_READING_INVALID): its budget is not enforced. */
  memoryError: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type BeeStatus = z.infer<typeof BeeStatus>;

/** Why a bee was replaced: over its memory budget, past its timeout, its task cancelled, anything else. */
export const RESTART_REASONS = ['memory', 'timeout', 'cancel', 'crash'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** What a hive tells the queen about its machine in `hello`. */
/** Names end up in logs and tables: printable text only (a newline in a name forged log lines). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/;

export const HiveResources = z.object({
  name: z.string().min(1).max(128).regex(NO_CONTROL, 'must not contain control characters'),
  host: z.string().max(256).regex(NO_CONTROL, 'must not contain control characters'),
  pid: z.number().int(),
  arch: z.string(),
  platform: z.string(),
  node: z.string(),
  cores: z.number().int().positive(),
  memoryBytes: z.number().positive(),
  bees: z.number().int().positive(),
  memoryPerBeeBytes: z.number().positive(),
  ephemeral: z.boolean(),
  /** The hive's timeout for tasks that set none: the queen's deadline per attempt uses it too. */
  taskTimeoutMs: z.number().int().positive().max(86_400_000).optional(),
});
export type HiveResources = z.infer<typeof HiveResources>;
