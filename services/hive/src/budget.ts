/**
 * How one bee's budget is split among its three enforcers. The RSS monitor holds the hard line at
 * the full budget; the V8 heap cap and DuckDB's memory_limit sit below it so that a well-behaved
 * task gets a GC or a spill to disk, not a kill.
 */
const MiB = 1024 * 1024;
/** Idle RSS of a bee: Node, the DuckDB library and the orphan watchdog. */
export const BEE_BASELINE_BYTES = 128 * MiB;

export interface BudgetSplit {
  heapMb: number;
  duckBytes: number;
}

export function splitBudget(budgetBytes: number): BudgetSplit {
  const heapMb = Math.max(64, Math.floor(budgetBytes / MiB / 2));
  const duckBytes = Math.max(32 * MiB, Math.floor((budgetBytes - BEE_BASELINE_BYTES) * 0.6));
  return { heapMb, duckBytes };
}
