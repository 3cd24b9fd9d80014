// Decomposable aggregates: the partials a map computes and how a merge combines them, with
// merged results cast to the type plain DuckDB gives the original aggregate.
import { cast, child, coalesce, columnRef, exprKey, func, intConst, nodes, some, str, withAlias, type Node } from './ast.js';
import { numericKind } from './numeric.js';
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

  /** The partials column computing fn(arg) (cast to `as`, if given) per group of cells, shared by equal aggregates. */
  add(fn: string, arg: Node | null, as?: Node): string {
    const call = func(fn, arg ? [arg] : []);
    const ast = as ? { ...cast(call, ''), cast_type: as } : call;
    const key = exprKey(ast, this.scope.qualifier);
    const found = this.list.find((p) => p.key === key);
    if (found) return found.name;
    const name = `__apiary_p${this.list.length}`;
    this.list.push({ name, ast: withAlias(ast, ''), key });
    return name;
  }
}

const ref = (name: string): Node => columnRef(name);
/** DECIMAL(38, 0): holds any sum of up to 10^18 64-bit integers, and Parquet keeps it exactly. */
const EXACT_INT: Node = { id: 'DECIMAL', type_info: { type: 'DECIMAL_TYPE_INFO', alias: '', extension_info: null, width: 38, scale: 0 } };

/**
 * The partial sum(arg) column. Integer sums are HUGEINT, which DuckDB writes to Parquet as DOUBLE
 * (inexact above 2^53), so they travel as DECIMAL(38, 0); DOUBLE and DECIMAL(38, s) sums cross as is.
 */
function sumPartial(name: string, arg: Node, partials: Partials, scope: Scope): { column: string; int: boolean } {
  const kind = numericKind(arg, scope);
  if (kind === null) throw new NotDecomposable(`${name}(…) of a value whose numeric type is not known`);
  if (kind === 'huge') throw new NotDecomposable(`${name}(…) of HUGEINT may exceed DECIMAL(38, 0), the widest exact partial`);
  return kind === 'int' ? { column: partials.add('sum', arg, EXACT_INT), int: true } : { column: partials.add('sum', arg), int: false };
}

/**
 * Types whose values Parquet gives back as another type (HUGEINT as DOUBLE, TIMESTAMP_S as
 * TIMESTAMP, BIT as VARCHAR, …); UNBOUND is a type DuckDB resolves later, e.g. an ENUM. Frame
 * columns come from Parquet and round-trip; only a CAST or a literal can bring these in.
 */
const PARQUET_CHANGES = new Set(['HUGEINT', 'UHUGEINT', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'BIT', 'BIGNUM', 'VARINT', 'UNION', 'UNBOUND']);

function typeIdOf(n: Node): string | null {
  if (n['class'] === 'CAST') return str(child(n, 'cast_type') ?? {}, 'id');
  const value = n['class'] === 'CONSTANT' ? child(n, 'value') : null;
  const type = value && child(value, 'type');
  return type ? str(type, 'id') : null;
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
    case 'sum': {
      // sum over sums keeps DOUBLE or DECIMAL(38, s); an integer sum goes back to DuckDB's HUGEINT
      const p = sumPartial(name, arg, partials, scope);
      const merged = func('sum', [ref(p.column)]);
      return p.int ? cast(merged, 'HUGEINT') : merged;
    }
    case 'min':
    case 'max':
      if (some(arg, (n) => PARQUET_CHANGES.has(typeIdOf(n) ?? ''))) {
        throw new NotDecomposable(`${name}(…) of a type Parquet does not keep (its partial would change type)`);
      }
      return func(name, [ref(partials.add(name, arg))]);
    default: {
      // avg / mean
      const sum = cast(func('sum', [ref(sumPartial(name, arg, partials, scope).column)]), 'DOUBLE');
      const count = cast(func('sum', [ref(partials.add('count', arg))]), 'DOUBLE');
      return func('/', [sum, func('nullif', [count, intConst(0)])], true);
    }
  }
}
