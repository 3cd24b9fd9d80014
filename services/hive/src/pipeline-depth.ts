/** Tasks a bee may hold at once while its tasks run short: one running, the rest queued in it. */
export const BEE_PIPELINE_DEPTH = 4;
/** Below this average run time (ms) tasks count as short (as the queen's SHORT_TASK_MS). */
export const SHORT_TASK_MS = 5;
/** Weight of the newest run time in the moving average. */
const EWMA_WEIGHT = 0.1;

/**
 * How many tasks the pool keeps in a bee: BEE_PIPELINE_DEPTH while the hive's tasks average under
 * SHORT_TASK_MS, so a bee starts its next task without waiting on a round trip and several tasks
 * travel in one message; 1 otherwise, so a long task does not hold others hostage that another bee
 * could start sooner. Starts at 1: nothing is known yet.
 */
export class PipelineDepth {
  #avgMs = Number.POSITIVE_INFINITY;

  /** A task ran this long (from its start in its bee). */
  note(ms: number): void {
    this.#avgMs = Number.isFinite(this.#avgMs) ? this.#avgMs + EWMA_WEIGHT * (ms - this.#avgMs) : ms;
  }

  get value(): number {
    return this.#avgMs < SHORT_TASK_MS ? BEE_PIPELINE_DEPTH : 1;
  }
}
