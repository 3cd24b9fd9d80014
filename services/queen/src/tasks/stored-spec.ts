import type { TaskSpec } from '@apiary/protocol';

/**
 * A task spec as the ledger keeps it. A frame query's plan task carries the catalog slice of every
 * frame it names (each cell's path, size and statistics): large, and a copy of what the frame
 * catalog holds anyway. Once the task is recorded, only its references stay (`frames`: name and
 * version); the bee got the catalog with the assign. A plan task is never re-dispatched from a
 * stored spec: after a restart the queen cancels unfinished ones (their HTTP request is gone).
 */
export function storedSpec(spec: TaskSpec): TaskSpec {
  if (spec.kind !== 'plan' || spec.catalog.length === 0) return spec;
  return { ...spec, catalog: [] };
}
