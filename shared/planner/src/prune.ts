// Pruning: drop cells whose statistics prove that no row can satisfy the WHERE clause.
// Only AND-ed comparisons of a column with constants are used; anything else keeps the cell.
import { columnPath, conjuncts, nodes, str, child, type Node } from './ast.js';
import { classify, statsOf, type ColumnClass } from './columns.js';
import { constantOf, fitsUnit, type Constant } from './constants.js';
import { compareInstants, compareNumbers, compareStrings, parseInstant, type Cmp } from './values.js';
import type { Cell, ColumnStats, FrameInfo, StatValue } from './types.js';

type Op = '=' | '<' | '<=' | '>' | '>=';
export type Predicate = { column: string } & ({ op: Op; value: Constant } | { op: 'in'; values: Constant[] });

const OPS: Record<string, [Op, Op]> = {
  // [as written col OP const, flipped when the constant is on the left]
  COMPARE_EQUAL: ['=', '='],
  COMPARE_LESSTHAN: ['<', '>'],
  COMPARE_LESSTHANOREQUALTO: ['<=', '>='],
  COMPARE_GREATERTHAN: ['>', '<'],
  COMPARE_GREATERTHANOREQUALTO: ['>=', '<='],
};

function columnOf(e: Node | null, qualifier: string): string | undefined {
  if (!e || str(e, 'class') !== 'COLUMN_REF') return undefined;
  const path = columnPath(e, qualifier);
  return path.length === 1 ? path[0] : undefined;
}

/** The prunable conjuncts of a WHERE clause over the table known as `qualifier`. */
export function predicatesOf(where: Node | null, qualifier: string): Predicate[] {
  const out: Predicate[] = [];
  for (const c of conjuncts(where)) {
    const cls = str(c, 'class');
    const ops = OPS[str(c, 'type')];
    if (cls === 'COMPARISON' && ops) {
      const [l, r] = [child(c, 'left'), child(c, 'right')];
      const lc = columnOf(l, qualifier);
      const rc = columnOf(r, qualifier);
      const lv = l && constantOf(l);
      const rv = r && constantOf(r);
      if (lc !== undefined && rv) out.push({ column: lc, op: ops[0], value: rv });
      else if (rc !== undefined && lv) out.push({ column: rc, op: ops[1], value: lv });
    } else if (cls === 'BETWEEN') {
      const column = columnOf(child(c, 'input'), qualifier);
      const lower = child(c, 'lower');
      const upper = child(c, 'upper');
      const lo = lower && constantOf(lower);
      const hi = upper && constantOf(upper);
      if (column !== undefined && lo) out.push({ column, op: '>=', value: lo });
      if (column !== undefined && hi) out.push({ column, op: '<=', value: hi });
    } else if (cls === 'OPERATOR' && str(c, 'type') === 'COMPARE_IN') {
      const [first, ...rest] = nodes(c, 'children');
      const column = columnOf(first ?? null, qualifier);
      const values = rest.map(constantOf);
      if (column !== undefined && values.every((v) => v !== undefined)) out.push({ column, op: 'in', values });
    }
  }
  return out;
}

/** Order of a statistics value against a constant for a column of the given class. */
function order(stat: StatValue, c: Constant, col: ColumnClass): Cmp {
  if (c.kind === 'null' || stat === null) return undefined;
  if (typeof stat === 'number') {
    return (col.kind === 'num' || col.kind === 'unknown') && c.kind === 'num' ? compareNumbers(stat, c.v) : undefined;
  }
  if (typeof stat !== 'string') return undefined;
  if (col.kind === 'str') return c.kind === 'str' ? compareStrings(stat, c.v) : undefined;
  if (col.kind === 'time') {
    const s = parseInstant(stat);
    // DuckDB casts a text literal to the column's type: only compare when that cast is exact.
    const at = c.kind === 'time' ? c.at : c.kind === 'str' ? parseInstant(c.v) : undefined;
    const zoned = c.kind === 'time' ? c.zoned : at?.offset !== null;
    if (!s || !at || zoned !== col.zoned || !fitsUnit(at, col.unit)) return undefined;
    // Naive columns may carry "Z" statistics (ISO text of a wall-clock time); other offsets are unclear.
    if (col.zoned ? s.offset === null : s.offset !== null && s.offset !== 0) return undefined;
    return compareInstants(s, at);
  }
  if (col.kind === 'unknown' && c.kind === 'time') {
    const s = parseInstant(stat);
    if (!s || (s.offset !== null) !== c.zoned || !fitsUnit(c.at, s.dateOnly ? 'day' : 's')) return undefined;
    return compareInstants(s, c.at);
  }
  return undefined;
}

function allNull(s: ColumnStats, rows: number | undefined): boolean {
  // Needs the row count: Parquet writers also drop min/max when a float column holds NaN.
  return rows !== undefined && rows > 0 && s.null_count !== null && s.null_count >= rows;
}

/** False only when the statistics prove no row of the cell satisfies the predicate. */
export function mayMatch(cell: Cell, p: Predicate, col: ColumnClass): boolean {
  const s = statsOf(cell, p.column);
  if (!s) return true;
  if (allNull(s, cell.rows)) return false; // a comparison with NULL is never true
  const below = (v: Constant) => order(s.max, v, col) === -1; // every value < v
  const above = (v: Constant) => order(s.min, v, col) === 1; // every value > v
  switch (p.op) {
    case '=':
      return !(below(p.value) || above(p.value));
    case '<': {
      const o = order(s.min, p.value, col);
      return !(o === 0 || o === 1);
    }
    case '<=':
      return !above(p.value);
    case '>': {
      const o = order(s.max, p.value, col);
      return !(o === 0 || o === -1);
    }
    case '>=':
      return !below(p.value);
    case 'in': {
      const values = p.values.filter((v) => v.kind !== 'null');
      return values.length === 0 || values.some((v) => !(below(v) || above(v)));
    }
  }
}

/** The cells of a frame that may hold matching rows (empty cells never do). */
export function keepCells(frame: FrameInfo, predicates: Predicate[]): Cell[] {
  const types = new Map((frame.columns ?? []).map((c) => [c.name.toLowerCase(), c.type]));
  const usable = predicates.filter((p) => !frame.columns || types.has(p.column));
  const classes = usable.map((p) => classify(types.get(p.column)));
  return frame.cells.filter((cell) => cell.rows !== 0 && usable.every((p, i) => mayMatch(cell, p, classes[i]!)));
}
