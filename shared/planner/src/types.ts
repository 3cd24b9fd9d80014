// Public shapes of the planner: what the catalog hands in, what a plan hands out.

/** A statistics value as the catalog stores it: numbers, strings (also ISO dates/timestamps), booleans. */
export type StatValue = number | string | boolean | null;

/** Per-column statistics of one cell. min/max must bound every non-NULL value in DuckDB's order. */
export interface ColumnStats {
  min: StatValue;
  max: StatValue;
  null_count: number | null;
}

/** One Parquet file of a frame. */
export interface Cell {
  path: string;
  bytes: number;
  /** Row count; lets the planner see all-NULL columns and drop empty cells. */
  rows?: number;
  /** Keyed by column name; a missing column or value means "unknown" and never prunes. */
  stats?: Readonly<Record<string, ColumnStats>>;
}

/** A frame's column as DuckDB reads it from the cells (e.g. from DESCRIBE): name and type text. */
export interface FrameColumn {
  name: string;
  type: string;
}

export interface FrameInfo {
  name: string;
  cells: readonly Cell[];
  /** Optional schema. Enables string and date pruning and resolving select aliases safely. */
  columns?: readonly FrameColumn[];
}

export type Catalog = readonly FrameInfo[];

export interface PlanOptions {
  /** Bees available for map work: at least this many groups when there are enough cells. */
  bees: number;
  /** Budget of cell bytes per group (one bee's share); a single larger cell gets its own group. */
  targetBytesPerGroup: number;
  /** The original SQL text: whole plans run it verbatim (keeps DuckDB's exact column names). */
  sql?: string;
}

export type PlanErrorCode = 'SQL_READ_ONLY' | 'SQL_ERROR';

export type PlanResult = { ok: true; plan: Plan } | { ok: false; code: PlanErrorCode; message: string };

/** The cells a plan reads for one frame, after pruning. */
export interface FramePlan {
  frame: string;
  cellsTotal: number;
  /** Cells kept, in catalog order. */
  cells: Cell[];
  pruned: number;
  bytes: number;
  /** Every cell was pruned; one was kept anyway so the view has the frame's schema. */
  keptForSchema: boolean;
}

export interface CellGroup {
  index: number;
  cells: Cell[];
  bytes: number;
}

/** Run the original query on one bee, each frame a view over its (pruned) cells. */
export interface WholePlan {
  kind: 'whole';
  reason: string;
  frames: FramePlan[];
  /** The original statement as json_serialize_sql output. */
  ast: string;
  /** SQL to run: the original text when given in PlanOptions, else filled by renderPlan. */
  sql?: string;
}

/** A merge output column: its final name, or a statement whose DuckDB rendering gives the name. */
export interface OutputName {
  name?: string;
  nameAst?: string;
}

/** Map over each cell group (view `<frame>` over the group), merge over table `partials`. */
export interface DecomposedPlan {
  kind: 'decomposed';
  frame: FramePlan;
  groups: CellGroup[];
  /** json_serialize_sql-shaped statements; renderPlan turns them into SQL. */
  mapAst: string;
  mergeAst: string;
  outputs: OutputName[];
  /** GROUP BY keys of the map: with none, each map step yields exactly one row. */
  mapKeys?: number;
  /** Name of the table holding every group's map rows when the merge runs. */
  partialsTable: 'partials';
  mapSql?: string;
  mergeSql?: string;
}

export type Plan = WholePlan | DecomposedPlan;

export type RenderedPlan = (WholePlan & { sql: string }) | (DecomposedPlan & { mapSql: string; mergeSql: string });
