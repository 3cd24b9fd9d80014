import { z } from 'zod';

/** A task attempt's captured output is bounded to its last this-many bytes (UTF-8). */
export const TASK_OUTPUT_MAX_BYTES = 64 * 1024;
/** Starts a captured output whose beginning was dropped to stay within TASK_OUTPUT_MAX_BYTES. */
export const TASK_OUTPUT_CUT_MARKER = '[… earlier output cut: only the last 64 KiB are kept]\n';

export const OutputStream = z.enum(['stdout', 'stderr']);
export type OutputStream = z.infer<typeof OutputStream>;

/**
 * One server-sent event (`event: output`) on GET /v1/events?task=ID: output of the task's current
 * attempt as it arrives. `cut` > 0 says that many bytes before `data` were dropped (the hive sends at
 * most TASK_OUTPUT_MAX_BYTES per flush).
 */
export const TaskOutputEvent = z.object({
  id: z.string(),
  attempt: z.number().int().positive(),
  stream: OutputStream,
  data: z.string(),
  cut: z.number().int().nonnegative(),
  at: z.number(),
});
export type TaskOutputEvent = z.infer<typeof TaskOutputEvent>;
