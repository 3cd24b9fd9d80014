// Finding the frames a query names, and the cells each one needs after pruning.
import { child, nodes, str, walk, type Node } from './ast.js';
import { keepCells, predicatesOf } from './prune.js';
import type { Catalog, Cell, FrameInfo, FramePlan } from './types.js';

export interface FrameRef {
  frame: FrameInfo;
  table: Node;
  /** The SELECT whose FROM is exactly this table (no join), if any: its WHERE filters the frame. */
  select: Node | null;
}

/** Exact name first, then case-insensitively, as DuckDB resolves a view name. */
export function lookupFrame(catalog: Catalog, name: string): FrameInfo | undefined {
  return catalog.find((f) => f.name === name) ?? catalog.find((f) => f.name.toLowerCase() === name.toLowerCase());
}

/** How a table's columns are qualified in its query: its alias, else its name. */
export function qualifierOf(table: Node): string {
  return (str(table, 'alias') || str(table, 'table_name')).toLowerCase();
}

/** Every reference to a frame: unqualified BASE_TABLE names found in the catalog. */
export function findFrameRefs(root: Node, catalog: Catalog): FrameRef[] {
  const selectOf = new Map<Node, Node>();
  walk(root, (n) => {
    const from = n['type'] === 'SELECT_NODE' ? child(n, 'from_table') : null;
    if (from && from['type'] === 'BASE_TABLE') selectOf.set(from, n);
  });
  const refs: FrameRef[] = [];
  walk(root, (n) => {
    if (n['type'] !== 'BASE_TABLE' || str(n, 'schema_name') || str(n, 'catalog_name')) return;
    const frame = lookupFrame(catalog, str(n, 'table_name'));
    if (frame) refs.push({ frame, table: n, select: selectOf.get(n) ?? null });
  });
  return refs;
}

/** The WHERE clause that filters every row read from this reference, or null. */
export function filterOf(ref: FrameRef): Node | null {
  const t = ref.table;
  const plain = t['sample'] === null && t['at_clause'] === null && nodes(t, 'column_name_alias').length === 0;
  if (!plain || !ref.select || ref.select['sample'] !== null) return null;
  return child(ref.select, 'where_clause');
}

export function framePlan(frame: FrameInfo, kept: Cell[]): FramePlan {
  let cells = kept;
  const keptForSchema = kept.length === 0 && frame.cells.length > 0;
  if (keptForSchema) {
    // The view still needs a file to take the frame's schema from; the WHERE filters its rows.
    const smallest = frame.cells.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    cells = [smallest];
  }
  return {
    frame: frame.name,
    cellsTotal: frame.cells.length,
    cells,
    pruned: frame.cells.length - cells.length,
    bytes: cells.reduce((s, c) => s + c.bytes, 0),
    keptForSchema,
  };
}

/** Prune a frame by a WHERE clause over the table known as `qualifier` (null: no filter). */
export function pruneFrame(frame: FrameInfo, where: Node | null, qualifier: string): FramePlan {
  return framePlan(frame, keepCells(frame, predicatesOf(where, qualifier)));
}

/**
 * Frames of a query run whole: a frame named exactly once, directly in a FROM, is pruned by that
 * SELECT's WHERE; a frame named twice (a self-join) is not, since one side's filter isn't the other's.
 */
export function wholeFrames(refs: FrameRef[]): FramePlan[] {
  const byName = new Map<string, FrameRef[]>();
  for (const r of refs) byName.set(r.frame.name, [...(byName.get(r.frame.name) ?? []), r]);
  return [...byName.values()].map((rs) => {
    const only = rs.length === 1 ? rs[0]! : null;
    const where = only ? filterOf(only) : null;
    return pruneFrame(rs[0]!.frame, where, only ? qualifierOf(only.table) : '');
  });
}
