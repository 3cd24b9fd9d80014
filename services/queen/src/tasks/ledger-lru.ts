import type { TaskRecord } from './ledger.js';

/** Least-recently-used finished task records, bounded by count and by (approximate) result bytes. */
export class Lru {
  readonly #map = new Map<string, { rec: TaskRecord; bytes: number }>();
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(id: string): TaskRecord | undefined {
    const e = this.#map.get(id);
    if (!e) return undefined;
    // Re-insert: Map order is the recency order.
    this.#map.delete(id);
    this.#map.set(id, e);
    return e.rec;
  }

  /** Look without refreshing. */
  peek(id: string): TaskRecord | undefined {
    return this.#map.get(id)?.rec;
  }

  set(id: string, rec: TaskRecord, bytes: number): void {
    this.delete(id);
    this.#map.set(id, { rec, bytes });
    this.#bytes += bytes;
    for (const [oldest, e] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#map.delete(oldest);
      this.#bytes -= e.bytes;
    }
  }

  delete(id: string): void {
    const e = this.#map.get(id);
    if (!e) return;
    this.#map.delete(id);
    this.#bytes -= e.bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}
