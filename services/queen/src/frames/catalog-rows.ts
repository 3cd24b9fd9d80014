import type { CellView, Column, ColumnStats, WriteMode } from '@apiary/protocol';

/*
 * The catalog's records: what a write commits, what retire() hands back, and the SQLite rows
 * (snake_case, as migrations.ts creates them) with their mapping to the protocol's views.
 */

/** A cell about to be recorded: its file is already in place under the data root. */
export interface NewCell {
  id: string;
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
  stats: Record<string, ColumnStats>;
}

export interface Commit {
  frame: string;
  mode: WriteMode;
  writeId: string;
  schema: Column[];
  cells: NewCell[];
}

export interface VersionRow {
  version: number;
  mode: WriteMode;
  created_at: number;
  row_count: number;
  byte_count: number;
  schema: string;
  cells: number;
}

export interface CellRow {
  id: string;
  path: string;
  row_count: number;
  byte_count: number;
  sha256: string;
  stats: string;
}

/** What retire() took out of the catalog: the caller deletes the files. */
export interface Retired {
  frame: string;
  /** Versions removed from the catalog. */
  versions: number[];
  /** Old versions kept only because a running query reads them (deleted after its last unpin). */
  deferred: number[];
  /** Relative paths of the cells no remaining version references, and their bytes. */
  paths: string[];
  bytes: number;
}

/** A cell row as the protocol shows it (stats parsed). */
export function toCellView(r: CellRow): CellView {
  return { id: r.id, path: r.path, rows: r.row_count, bytes: r.byte_count, sha256: r.sha256, stats: JSON.parse(r.stats) as Record<string, ColumnStats> };
}
