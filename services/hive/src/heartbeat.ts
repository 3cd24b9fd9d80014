/** How soon after a bee starts or exits the extra beat goes, coalescing bursts (all bees starting at once). */
const SOON_MS = 20;

/**
 * When the hive beats to the queen: every heartbeatMs from a welcome on (one at once), plus one
 * shortly after a bee starts or exits (soon()). What a beat says is the hive's (`beat`).
 */
export class Heartbeat {
  #every: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;

  constructor(private readonly beat: () => void) {}

  /** Beat now and every `everyMs` (a new welcome restarts it). */
  start(everyMs: number): void {
    this.stop();
    this.beat();
    this.#every = setInterval(() => this.beat(), everyMs);
  }

  /** An extra beat shortly, unless one is pending already. */
  soon(): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      this.beat();
    }, SOON_MS);
  }

  /** No more periodic beats (the link closed, or the hive stops). */
  stop(): void {
    if (this.#every) clearInterval(this.#every);
    this.#every = null;
  }
}
