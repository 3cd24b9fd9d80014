import type { BeeStatus, WireError } from '@apiary/protocol';
import type { Logger, TreeUsage } from '@apiary/runtime';
import { MemoryReading } from './memory-reading.js';

/**
 * What the memory monitor last read of one bee's process tree: RSS, CPU share between two samples,
 * and whether the readings can be trusted (MemoryReading). Reset when the chamber forks a new bee.
 */
export class BeeUsage {
  rssBytes = 0;
  cpuPercent = 0;
  #lastCpu = { ms: 0, at: 0 };
  readonly #memory: MemoryReading;

  constructor(beeId: number, log: Logger) {
    this.#memory = new MemoryReading(beeId, log);
  }

  /** Why the readings of this bee cannot be trusted, if they cannot (shown in its status). */
  get error(): WireError | null {
    return this.#memory.error;
  }

  /** A new bee: its CPU share starts from its next sample. */
  restart(): void {
    this.#lastCpu = { ms: 0, at: 0 };
  }

  /** The bee is gone: nothing in use. */
  clear(): void {
    this.rssBytes = 0;
    this.cpuPercent = 0;
  }

  /** This bee's part of its BeeStatus. */
  view(): Pick<BeeStatus, 'rssBytes' | 'cpuPercent' | 'memoryError'> {
    const e = this.#memory.error;
    return { rssBytes: this.rssBytes, cpuPercent: Math.round(this.cpuPercent * 10) / 10, ...(e ? { memoryError: { code: e.code, message: e.message } } : {}) };
  }

  /** Take a sample; false when it is not a real reading (never compared with the budget then). */
  take(u: TreeUsage, pid: number | null, now: number): boolean {
    if (!this.#memory.accept(u, pid)) return false;
    this.rssBytes = u.rssBytes;
    if (this.#lastCpu.at > 0 && now > this.#lastCpu.at) {
      this.cpuPercent = Math.max(0, ((u.cpuMs - this.#lastCpu.ms) / (now - this.#lastCpu.at)) * 100);
    }
    this.#lastCpu = { ms: u.cpuMs, at: now };
    return true;
  }
}
