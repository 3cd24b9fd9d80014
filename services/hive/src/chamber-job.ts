import type { BeeState, RestartReason, TaskLimits, TaskSpec, TaskValue, WireError } from '@apiary/protocol';

/** One attempt of a task, as a chamber runs it. */
export interface Job {
  taskId: string;
  attempt: number;
  /** The queen's attempt token, carried back with every report of this attempt. */
  token: string;
  spec: TaskSpec;
  limits: TaskLimits;
  avoidBees: readonly number[];
}

export type Outcome = { ok: true; value: TaskValue } | { ok: false; error: WireError };

/** A bee's life in its chamber (the state machine's table). */
export const BEE_TRANSITIONS: Record<BeeState, readonly BeeState[]> = {
  starting: ['idle', 'exited'],
  idle: ['busy', 'stopping', 'exited'],
  busy: ['idle', 'stopping', 'exited'],
  stopping: ['exited'],
  exited: ['starting'],
};

/** Why a bee went, from the reason it was killed with (none: it died on its own). */
export function restartReason(killed: WireError | null): RestartReason {
  if (killed?.code === 'BEE_MEMORY_EXCEEDED') return 'memory';
  if (killed?.code === 'TASK_TIMEOUT') return 'timeout';
  if (killed?.code === 'TASK_CANCELLED') return 'cancel';
  return 'crash';
}
