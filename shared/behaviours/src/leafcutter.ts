import { ApiaryError } from '@apiary/protocol';

/**
 * Leafcutter cell sizing (see BRIEF "Behaviours"): a cell is cut to fit the chamber of the bee
 * that scans it. target = memory per bee / 4 (a bee holds one cell plus working state and output),
 * max = 2 × target, min = 16 MiB (amortises per-cell overhead); a target below min is raised to
 * min, and max follows the raised target. Pure: no I/O.
 */

export const MIB = 1024 * 1024;

/** Default cell floor: 16 MiB. */
export const DEFAULT_MIN_CELL_BYTES = 16 * MIB;

export interface CellSizing {
  targetBytes: number;
  maxBytes: number;
  minBytes: number;
}

export interface CellSizingOptions {
  /** Cell floor in bytes; default 16 MiB (tests use a smaller one). */
  minBytes?: number;
}

/** Sizes for cells scanned by bees with `memoryPerBeeBytes` each. All sizes are whole bytes. */
export function cellSizing(memoryPerBeeBytes: number, opts: CellSizingOptions = {}): CellSizing {
  if (!Number.isFinite(memoryPerBeeBytes) || memoryPerBeeBytes <= 0) {
    throw new ApiaryError('CONFIG_INVALID', `memory per bee must be a positive number of bytes, got ${memoryPerBeeBytes}`);
  }
  const minBytes = opts.minBytes ?? DEFAULT_MIN_CELL_BYTES;
  if (!Number.isInteger(minBytes) || minBytes < 1) {
    throw new ApiaryError('CONFIG_INVALID', `minimum cell size must be a whole number of bytes ≥ 1, got ${minBytes}`);
  }
  const targetBytes = Math.max(Math.floor(memoryPerBeeBytes / 4), minBytes);
  return { targetBytes, maxBytes: 2 * targetBytes, minBytes };
}

export interface CellPlan {
  /** Number of cells to write (0 only for 0 bytes). */
  cells: number;
  /**
   * ⌈total / cells⌉. The split is even: every cell is ⌈total / cells⌉ or ⌊total / cells⌋ bytes
   * (`total mod cells` cells of the former), so all cells differ by at most one byte.
   */
  bytesPerCell: number;
  /** Whether every cell lies within [minBytes, maxBytes] (false only when that is impossible). */
  withinBounds: boolean;
}

/**
 * Splits `totalBytes` into equal cells as close to the target as possible while keeping each cell
 * within [min, max]. A total below min (but above 0) is one cell; 0 bytes is no cell. With the
 * sizing from `cellSizing` (max ≥ 2·min) every total ≥ min fits the bounds; for a hand-made
 * sizing where no cell count fits both bounds, max wins (more, smaller cells).
 */
export function planCells(totalBytes: number, sizing: CellSizing): CellPlan {
  if (!Number.isFinite(totalBytes) || totalBytes < 0) {
    throw new RangeError(`planCells: total must be a finite number of bytes ≥ 0, got ${totalBytes}`);
  }
  const { targetBytes, maxBytes, minBytes } = sizing;
  if (!(minBytes > 0 && targetBytes >= minBytes && maxBytes >= targetBytes && Number.isFinite(maxBytes))) {
    throw new ApiaryError('CONFIG_INVALID', `cell sizing must satisfy 0 < min ≤ target ≤ max, got ${minBytes} / ${targetBytes} / ${maxBytes}`);
  }
  const total = Math.ceil(totalBytes);
  if (total === 0) return { cells: 0, bytesPerCell: 0, withinBounds: true };
  if (total <= minBytes) return { cells: 1, bytesPerCell: total, withinBounds: total === minBytes };

  const fewest = Math.ceil(total / maxBytes); // any fewer and a cell is over max
  const most = Math.floor(total / minBytes); // any more and a cell is under min
  const ideal = Math.max(1, Math.round(total / targetBytes));
  const cells = fewest <= most ? Math.min(Math.max(ideal, fewest), most) : fewest;
  const bytesPerCell = Math.ceil(total / cells);
  const smallest = Math.floor(total / cells);
  return { cells, bytesPerCell, withinBounds: bytesPerCell <= maxBytes && smallest >= minBytes };
}
