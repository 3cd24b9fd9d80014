import { ApiaryError, TERMINAL_STATES, type TaskLimits, type TaskSpec, type TaskValue, type WireError } from '@apiary/protocol';
import type { SubmitOptions } from '../tasks/new-task.js';
import type { Scheduler } from '../tasks/scheduler.js';

const WAIT_SLICE_MS = 60_000;

/**
 * Run tasks for a write and collect their values in order. The first failure cancels the others
 * (their bees stop writing) and is thrown with its own code; so is the client going away.
 */
export async function runAll(
  scheduler: Scheduler,
  specs: readonly TaskSpec[],
  limits: TaskLimits,
  signal: AbortSignal,
  /** Each task's value as it succeeds (a write's progress), before the others end. */
  onDone?: (i: number, v: TaskValue) => void,
  /** Placement (prefer-in-place.ts); by default any hive: one that fetches cells fetches the inputs and sends cells back. */
  submit: SubmitOptions = {},
): Promise<TaskValue[]> {
  const recs = scheduler.submitMany(
    specs.map((spec) => ({ spec, limits })),
    submit,
  );
  const values: TaskValue[] = [];
  let failure: WireError | null = null;
  // cancel() is a no-op on a finished task.
  const cancelRest = (why: string) => {
    for (const r of recs) scheduler.cancel(r.id, why);
  };
  await Promise.all(
    recs.map(async (r, i) => {
      for (;;) {
        const t = await scheduler.wait(r.id, WAIT_SLICE_MS, signal);
        if (!TERMINAL_STATES.has(t.state)) {
          if (!signal.aborted) continue;
          failure ??= { code: 'TASK_CANCELLED', message: 'the client went away before the write finished' };
          cancelRest(failure.message);
          return;
        }
        if (t.state === 'succeeded' && t.value) {
          values[i] = t.value;
          onDone?.(i, t.value);
        } else if (failure === null) {
          failure = t.error ?? { code: 'INTERNAL', message: `write task ended ${t.state}` };
          cancelRest(`another task of the same write failed (${failure.code})`);
        }
        return;
      }
    }),
  );
  if (failure) {
    const f = failure as WireError;
    throw new ApiaryError(f.code, f.message, f.details);
  }
  return values;
}
