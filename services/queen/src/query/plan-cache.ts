import type { FrameInfo, RenderedPlan } from '@apiary/planner';
import { sha256Hex } from '@apiary/runtime';

export interface CachedPlan {
  plan: RenderedPlan;
  explain: string;
  /**
   * Per cell group, whether its map partial came back inline when this plan last ran. The plan's
   * key holds its cells, so the same map over them gives the same rows again: known small, a map is
   * read in one statement; known big, it goes straight to its file (query/inline-partials.ts).
   */
  inline?: boolean[];
}

/** What a plan depends on: the SQL text, the catalog it was planned against, and the colony's shape. */
export interface PlanInputs {
  sql: string;
  /** PlanCache.frameKey of each frame of the catalog the plan reads, in catalog order. */
  frames: readonly string[];
  bees: number;
  targetBytesPerGroup: number;
}

/**
 * Plans by their inputs (issue 11): a query whose SQL text and catalog (every named frame's cells,
 * sizes, statistics and columns, so any new version, drop or rewrite is another key) were planned
 * before skips the plan task, a round trip to a bee. A plan is pure in these inputs (the planner
 * does no I/O; DuckDB only parses and renders), so a hit is the plan a bee would make again.
 * Bounded, least recently used out first. A frame's part of the key is computed once per version
 * (query/frame-reads.ts): hashing the catalog at every query cost more than the lookup it saves.
 */
export class PlanCache {
  readonly #plans = new Map<string, CachedPlan>();

  constructor(private readonly max = 256) {}

  static key(i: PlanInputs): string {
    return sha256Hex(JSON.stringify([i.sql, i.bees, i.targetBytesPerGroup, i.frames]));
  }

  /** A frame as the planner sees it (every cell's path, size, rows and statistics, the columns), as a digest. */
  static frameKey(info: FrameInfo): string {
    return sha256Hex(JSON.stringify(info));
  }

  get(key: string): CachedPlan | undefined {
    const hit = this.#plans.get(key);
    if (!hit) return undefined;
    this.#plans.delete(key);
    this.#plans.set(key, hit); // most recently used last
    return hit;
  }

  set(key: string, plan: CachedPlan): void {
    this.#plans.delete(key);
    this.#plans.set(key, plan);
    while (this.#plans.size > this.max) this.#plans.delete(this.#plans.keys().next().value!);
  }

  get size(): number {
    return this.#plans.size;
  }
}
