import type { TaskRecord } from './ledger.js';

/** Least-recently-used finished task records, bounded by count and by (approximate) result bytes. */
export class Lru {
  readonly #map = new Map<string, { rec: TaskRecord; bytes: number }>();
  #bytes = 0;
  /** Where eviction left off (see #nextOldest). */
  #evict: MapIterator<string> | null = null;

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
    while (this.#map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const oldest = this.#nextOldest();
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  /**
   * The oldest key, from an iterator kept across calls. A fresh `for…of` per eviction walked every
   * slot deleted since V8 last compacted the Map: with 10,000 entries cycling that cost 14-17 µs per
   * set (measured), once per finished task. Everything before this iterator was evicted, and a
   * refreshed entry moves behind it, so it stays at the oldest live entry.
   */
  #nextOldest(): string | undefined {
    let r = this.#evict?.next();
    if (!r || r.done) {
      this.#evict = this.#map.keys();
      r = this.#evict.next();
    }
    return r.done ? undefined : r.value;
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
    this.#evict = null;
  }
}
