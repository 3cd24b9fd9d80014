// Rewriting select, HAVING and ORDER BY expressions for the merge: group keys become partials
// key columns, aggregates become merged partials, and only known-pure scalar functions remain.
import { child, columnPath, columnRef, exprKey, isNode, nodes, str, type Node } from './ast.js';
import { AGGREGATES, NotDecomposable, mergeAggregate, type Partials, type Scope } from './aggregates.js';
import { cloneJson, type Json } from './json.js';

/** Deterministic scalar functions: over equal inputs they give equal outputs in map or merge. */
const SCALARS = new Set([
  '+',
  '-',
  '*',
  '/',
  '//',
  '%',
  '**',
  '^',
  '&',
  '|',
  '<<',
  '>>',
  '~',
  '||',
  '~~',
  '!~~',
  '~~*',
  '!~~*',
  '^@',
  'abs',
  'sign',
  'round',
  'ceil',
  'ceiling',
  'floor',
  'trunc',
  'sqrt',
  'cbrt',
  'exp',
  'ln',
  'log',
  'log2',
  'log10',
  'pow',
  'power',
  'greatest',
  'least',
  'nullif',
  'ifnull',
  'isnan',
  'isinf',
  'isfinite',
  'gcd',
  'lcm',
  'concat',
  'concat_ws',
  'lower',
  'upper',
  'lcase',
  'ucase',
  'length',
  'strlen',
  'substring',
  'substr',
  'left',
  'right',
  'trim',
  'ltrim',
  'rtrim',
  'replace',
  'lpad',
  'rpad',
  'repeat',
  'reverse',
  'contains',
  'starts_with',
  'ends_with',
  'prefix',
  'suffix',
  'strpos',
  'instr',
  'position',
  'format',
  'printf',
  'date_trunc',
  'date_part',
  'datepart',
  'year',
  'month',
  'day',
  'hour',
  'minute',
  'second',
  'epoch',
  'epoch_ms',
  'dayofweek',
  'dayofyear',
  'week',
  'quarter',
  'strftime',
  'make_date',
  'to_timestamp',
]);

export interface RewriteContext {
  scope: Scope;
  partials: Partials;
  keys: { key: string; ast: Node }[];
  /** Explicit select aliases (lower-case) an unresolved name may refer to here. */
  aliases: Set<string>;
}

export const keyColumn = (i: number): string => `__apiary_k${i}`;

/** A bare name may be kept as an alias reference only when it is provably not a frame column. */
function provablyAlias(name: string, ctx: RewriteContext): boolean {
  return ctx.aliases.has(name) && ctx.scope.declared !== null && !ctx.scope.declared.has(name);
}

function mapChildren(e: Node, f: (x: Node) => Node): Node {
  const out = cloneJson(e);
  const one = (k: string) => {
    const c = child(e, k);
    if (c) out[k] = f(c);
  };
  const many = (k: string) => {
    out[k] = nodes(e, k).map(f);
  };
  switch (str(e, 'class')) {
    case 'CAST':
    case 'COLLATE':
      one('child');
      break;
    case 'COMPARISON':
      one('left');
      one('right');
      break;
    case 'CONJUNCTION':
    case 'OPERATOR':
    case 'FUNCTION':
      many('children');
      break;
    case 'BETWEEN':
      ['input', 'lower', 'upper'].forEach(one);
      break;
    case 'CASE':
      out['case_checks'] = nodes(e, 'case_checks').map((c) => {
        const when = child(c, 'when_expr');
        const then = child(c, 'then_expr');
        return { ...c, when_expr: when && f(when), then_expr: then && f(then) } as Json;
      });
      one('else_expr');
      break;
    default:
      throw new NotDecomposable(`${str(e, 'class')} expressions are not decomposed`);
  }
  return out;
}

export function rewrite(e: Node, ctx: RewriteContext): Node {
  const key = exprKey(e, ctx.scope.qualifier);
  const k = ctx.keys.findIndex((g) => g.key === key);
  if (k >= 0) return columnRef(keyColumn(k));
  const cls = str(e, 'class');
  if (cls === 'CONSTANT') return cloneJson(e);
  if (cls === 'COLUMN_REF') {
    const path = columnPath(e, ctx.scope.qualifier);
    if (path.length === 1 && provablyAlias(path[0]!, ctx)) return cloneJson(e);
    throw new NotDecomposable(`column ${path.join('.')} is neither a GROUP BY key nor aggregated`);
  }
  if (cls === 'FUNCTION') {
    const name = str(e, 'function_name').toLowerCase();
    if (AGGREGATES.has(name)) {
      const args = nodes(e, 'children');
      if (args.some((a) => containsAggregate(a))) throw new NotDecomposable(`nested aggregates in ${name}`);
      return mergeAggregate(e, ctx.partials, ctx.scope);
    }
    const orders = child(e, 'order_bys');
    const plain = e['distinct'] !== true && e['filter'] === null && !str(e, 'schema') && !str(e, 'catalog');
    if (!SCALARS.has(name) || !plain || (orders && nodes(orders, 'orders').length > 0)) {
      throw new NotDecomposable(`function ${name} is not known to be decomposable`);
    }
  }
  return mapChildren(e, (x) => rewrite(x, ctx));
}

export function containsAggregate(e: Json): boolean {
  if (Array.isArray(e)) return e.some(containsAggregate);
  if (!isNode(e)) return false;
  if (e['class'] === 'FUNCTION' && AGGREGATES.has(str(e, 'function_name').toLowerCase())) return true;
  return Object.values(e).some(containsAggregate);
}
