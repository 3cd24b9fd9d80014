import type { WireError } from '@apiary/protocol';

/**
 * How long a JS task has, after its ctx.signal fires (cancel or timeout), to settle by itself before
 * its bee is killed. A task that honours the signal ends with TASK_CANCELLED / TASK_TIMEOUT and
 * keeps its bee (no restart); one that ignores it is killed when this runs out, as any task was
 * before ctx.signal existed.
 */
export const ABORT_GRACE_MS = 1000;

/**
 * One running task's abort: asked once (a cancel during a timeout's grace changes nothing), then
 * either the task settles (end()) or the grace runs out and `kill` runs.
 */
export class AbortGrace {
  #timer: NodeJS.Timeout | null = null;

  constructor(readonly reason: WireError) {}

  /** Tell the bee (`send`; false when its channel is gone), then kill after the grace unless end() comes first. */
  begin(send: () => boolean, kill: () => void, graceMs = ABORT_GRACE_MS): void {
    if (send()) this.#timer = setTimeout(kill, graceMs);
    else kill();
  }

  /** The task settled (or its bee died): no kill. */
  end(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
