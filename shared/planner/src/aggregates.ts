// Decomposable aggregates: the partials a map computes and how a merge combines them, with
// merged results cast to the type plain DuckDB gives the original aggregate.
import { cast, child, coalesce, columnPath, columnRef, exprKey, func, intConst, nodes, str, withAlias, type Node } from './ast.js';
import { classify, looksNumeric } from './columns.js';
import type { FrameColumn, FrameInfo } from './types.js';

export const AGGREGATES = new Set(['count_star', 'count', 'sum', 'min', 'max', 'avg', 'mean']);

/** Raised inside the analysis when a query is not provably decomposable; the message is the reason. */
export class NotDecomposable extends Error {}

export interface Scope {
  frame: FrameInfo;
  qualifier: string;
  declared: Map<string, FrameColumn> | null;
}

export class Partials {
  readonly list: { name: string; ast: Node; key: string }[] = [];
  constructor(private readonly scope: Scope) {}

  /** The partials column computing fn(arg) per group of cells, shared by equal aggregates. */
  add(fn: string, arg: Node | null): string {
    const ast = func(fn, arg ? [arg] : []);
    const key = exprKey(ast, this.scope.qualifier);
    const found = this.list.find((p) => p.key === key);
    if (found) return found.name;
    const name = `__apiary_p${this.list.length}`;
    this.list.push({ name, ast: withAlias(ast, ''), key });
    return name;
  }
}

const ref = (name: string): Node => columnRef(name);
const NUMERIC_IDS = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT',
  'UINTEGER', 'UBIGINT', 'UHUGEINT', 'FLOAT', 'DOUBLE', 'DECIMAL']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '//', '%']);

/** Provably numeric (so avg(e) is DOUBLE and equals sum(e) / count(e)); unsure means no. */
export function isNumeric(e: Node, scope: Scope): boolean {
  switch (str(e, 'class')) {
    case 'CONSTANT': {
      const value = child(e, 'value');
      const type = value && child(value, 'type');
      return !!type && value['is_null'] !== true && NUMERIC_IDS.has(str(type, 'id'));
    }
    case 'COLUMN_REF': {
      const path = columnPath(e, scope.qualifier);
      if (path.length !== 1) return false;
      if (scope.declared) return classify(scope.declared.get(path[0]!)?.type).kind === 'num';
      return looksNumeric(scope.frame, path[0]!);
    }
    case 'CAST': {
      const type = child(e, 'cast_type');
      return !!type && NUMERIC_IDS.has(str(type, 'id'));
    }
    case 'FUNCTION': {
      const args = nodes(e, 'children');
      return ARITHMETIC.has(str(e, 'function_name')) && args.length > 0 && args.every((a) => isNumeric(a, scope));
    }
    default:
      return false;
  }
}

function checkPlain(e: Node, name: string): void {
  const orders = child(e, 'order_bys');
  if (e['distinct'] === true) throw new NotDecomposable(`${name}(DISTINCT …) is not decomposable`);
  if (e['filter'] !== null) throw new NotDecomposable(`${name}(…) FILTER is not decomposed`);
  if (orders && nodes(orders, 'orders').length > 0) throw new NotDecomposable(`${name}(… ORDER BY …) is not decomposed`);
  if (e['export_state'] === true || str(e, 'schema') || str(e, 'catalog')) {
    throw new NotDecomposable(`${name}: qualified or exported aggregates are not decomposed`);
  }
}

/** The merge expression for one aggregate call, registering the partials it needs. */
export function mergeAggregate(e: Node, partials: Partials, scope: Scope): Node {
  const name = str(e, 'function_name').toLowerCase();
  checkPlain(e, name);
  const args = nodes(e, 'children');
  // count_star, and count() which DuckDB also reads as count(*)
  if (name === 'count_star' || (name === 'count' && args.length === 0)) {
    return cast(coalesce([func('sum', [ref(partials.add('count_star', null))]), intConst(0)]), 'BIGINT');
  }
  if (args.length !== 1) throw new NotDecomposable(`${name} with ${args.length} arguments is not decomposed`);
  const arg = args[0]!;
  switch (name) {
    case 'count':
      return cast(coalesce([func('sum', [ref(partials.add('count', arg))]), intConst(0)]), 'BIGINT');
    case 'sum': // sum over sums keeps the type: HUGEINT, DOUBLE or DECIMAL(38, s)
    case 'min':
    case 'max':
      return func(name, [ref(partials.add(name, arg))]);
    default: {
      // avg / mean
      if (!isNumeric(arg, scope)) throw new NotDecomposable(`${name}(…) of a value not known to be numeric`);
      const sum = cast(func('sum', [ref(partials.add('sum', arg))]), 'DOUBLE');
      const count = cast(func('sum', [ref(partials.add('count', arg))]), 'DOUBLE');
      return func('/', [sum, func('nullif', [count, intConst(0)])], true);
    }
  }
}
