import { TERMINAL_STATES, type ColonySample, type ColonyView } from '@apiary/protocol';
import type { Scheduler } from './tasks/scheduler.js';

/** One sample every 5 s ... */
export const HISTORY_INTERVAL_MS = 5000;
/** ... for the last 10 minutes: the dashboard's queue-depth and throughput charts. */
export const HISTORY_SAMPLES = 120;

/**
 * A bounded ring of colony samples (queue depth, running, tasks finished per interval, temperature),
 * so a page opened now can draw the last minutes instead of starting from an empty chart.
 */
export class ColonyHistory {
  readonly #samples: ColonySample[] = [];
  /** Ids that turned terminal this interval (a set: a task is counted once however often it is emitted). */
  #finished = new Set<string>();
  #failed = new Set<string>();
  readonly #off: () => void;
  readonly #timer: NodeJS.Timeout;

  constructor(
    scheduler: Scheduler,
    private readonly colony: () => ColonyView,
    readonly intervalMs = HISTORY_INTERVAL_MS,
  ) {
    this.#off = scheduler.onChange((t) => {
      if (!TERMINAL_STATES.has(t.state)) return;
      this.#finished.add(t.id);
      if (t.state !== 'succeeded') this.#failed.add(t.id);
    });
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    const c = this.colony();
    this.#samples.push({
      at: Date.now(),
      queued: c.queued,
      running: c.running,
      finished: this.#finished.size,
      failed: this.#failed.size,
      temperature: c.temperature,
    });
    this.#finished = new Set();
    this.#failed = new Set();
    if (this.#samples.length > HISTORY_SAMPLES) this.#samples.splice(0, this.#samples.length - HISTORY_SAMPLES);
  }

  samples(): ColonySample[] {
    return [...this.#samples];
  }

  close(): void {
    clearInterval(this.#timer);
    this.#off();
  }
}
