import { HAS_PROCFS, TreeSampler, treeUsage } from '@apiary/runtime';
import type { Chamber } from './chamber.js';

/**
 * The chambers' memory monitor: every memoryPollMs, the RSS and CPU of each bee's whole process
 * tree (grandchildren included); a chamber over its budget kills its tree (Chamber.sample). On
 * Linux the TreeSampler walks only the bees' trees, through files it keeps open between polls.
 */
export class MemoryMonitor {
  #timer: NodeJS.Timeout | null = null;
  readonly #sampler = new TreeSampler();

  constructor(private readonly chambers: readonly Chamber[]) {}

  start(pollMs: number): void {
    this.#timer ??= setInterval(() => void this.poll(), pollMs);
  }

  /** One reading of every bee's tree, handed to its chamber. */
  async poll(): Promise<void> {
    const pids = this.chambers.map((c) => c.pid).filter((p): p is number => p !== null);
    if (pids.length === 0) return;
    const usage = HAS_PROCFS ? this.#sampler.sample(pids) : await treeUsage(pids);
    const now = Date.now();
    for (const c of this.chambers) if (c.pid !== null) c.sample(usage.get(c.pid), now);
  }

  /** No more polls; the sampler's files are closed. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#sampler.close();
  }
}
