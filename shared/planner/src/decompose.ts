// Decomposing one single-frame aggregate SELECT into a map (per cell group) and a merge (over
// the union of partial rows). Anything not provably equal to plain DuckDB is refused with a reason.
import { baseTable, child, columnPath, columnRef, exprKey, nodes, selectNode, some, statementJson, str, walk, withAlias, type Node } from './ast.js';
import { NotDecomposable, Partials, type Scope } from './aggregates.js';
import { columnSpelling, declaredColumns } from './columns.js';
import { qualifierOf, type FrameRef } from './frames.js';
import { cloneJson } from './json.js';
import { containsAggregate, keyColumn, rewrite, type RewriteContext } from './rewrite.js';
import type { OutputName } from './types.js';

export type Decomposition = { ok: true; map: Node; merge: Node; outputs: OutputName[]; keys: number } | { ok: false; reason: string };

const MODIFIERS = new Set(['ORDER_MODIFIER', 'LIMIT_MODIFIER', 'LIMIT_PERCENT_MODIFIER']);
const FORBIDDEN: Record<string, string> = {
  SUBQUERY: 'subqueries',
  WINDOW: 'window functions',
  PARAMETER: 'prepared-statement parameters',
  STAR: '* or COLUMNS(…)',
};

function checkShape(node: Node, ref: FrameRef): void {
  const fail = (why: string) => {
    throw new NotDecomposable(why);
  };
  if (node['type'] !== 'SELECT_NODE') fail('set operations and recursive queries run whole');
  if (child(node, 'from_table') !== ref.table) fail('the frame is not the only table of the outer SELECT');
  if (ref.table['sample'] !== null || node['sample'] !== null) fail('SAMPLE runs whole');
  if (ref.table['at_clause'] !== null || nodes(ref.table, 'column_name_alias').length) fail('AT or column aliases on the frame');
  if (nodes(child(node, 'cte_map') ?? {}, 'map').length) fail('WITH runs whole');
  if (node['qualify'] !== null) fail('QUALIFY runs whole');
  if (node['aggregate_handling'] !== 'STANDARD_HANDLING') fail('GROUP BY ALL runs whole');
  for (const m of nodes(node, 'modifiers')) if (!MODIFIERS.has(str(m, 'type'))) fail('SELECT DISTINCT runs whole');
  walk(node, (n) => {
    const what = FORBIDDEN[str(n, 'class')];
    if (what) fail(`${what} run whole`);
  });
  // A merge over partials would drop the collation: min(s COLLATE nocase) of mins ≠ collated min.
  const outer = [node['select_list'], node['group_expressions'], node['having'], node['modifiers']].map((x) => x ?? null);
  if (some(outer, (x) => x['class'] === 'COLLATE')) fail('COLLATE outside WHERE runs whole');
  const n = nodes(node, 'group_expressions').length;
  const sets = node['group_sets'] as unknown[];
  const single = sets.length === 1 && Array.isArray(sets[0]) && new Set(sets[0]).size === n;
  if (n > 0 && !single) fail('GROUPING SETS, ROLLUP and CUBE run whole');
}

/** Explicit aliases (lower-case) that differ from the selected column's own name. */
function explicitAliases(select: Node[]): Map<string, number> {
  const out = new Map<string, number>();
  select.forEach((e, i) => {
    const alias = str(e, 'alias').toLowerCase();
    const own = str(e, 'class') === 'COLUMN_REF' ? String((e['column_names'] as string[]).at(-1)).toLowerCase() : null;
    if (alias && alias !== own && !out.has(alias)) out.set(alias, i);
  });
  return out;
}

/** GROUP BY items as expressions: ordinals and (provable) aliases resolved like DuckDB does. */
function groupKeys(node: Node, scope: Scope, aliases: Map<string, number>): { key: string; ast: Node }[] {
  const select = nodes(node, 'select_list');
  const keys: { key: string; ast: Node }[] = [];
  for (const g of nodes(node, 'group_expressions')) {
    let ast = g;
    if (str(g, 'class') === 'CONSTANT') {
      const value = child(g, 'value');
      const type = value && child(value, 'type');
      const v = value?.['value'];
      // Only an integer literal is an ordinal (1.5 arrives as DECIMAL with value 15).
      const ordinal = type && ['INTEGER', 'BIGINT'].includes(str(type, 'id')) && typeof v === 'number';
      const item = ordinal ? select[v - 1] : undefined;
      if (!item) throw new NotDecomposable('GROUP BY a constant');
      ast = item;
    } else if (str(g, 'class') === 'COLUMN_REF') {
      const path = columnPath(g, scope.qualifier);
      const i = path.length === 1 ? aliases.get(path[0]!) : undefined;
      if (i !== undefined) {
        if (!scope.declared) throw new NotDecomposable(`GROUP BY ${path[0]}: a column or a select alias?`);
        if (!scope.declared.has(path[0]!)) ast = select[i]!;
      }
    }
    if (containsAggregate(ast)) throw new NotDecomposable('GROUP BY an aggregate');
    const key = exprKey(ast, scope.qualifier);
    if (!keys.some((k) => k.key === key)) keys.push({ key, ast: withAlias(ast, '') });
  }
  return keys;
}

/** DuckDB names a bare column after the frame's column; other expressions after their SQL text. */
function outputName(item: Node, scope: Scope): OutputName {
  const alias = str(item, 'alias');
  if (alias) return { name: alias };
  if (str(item, 'class') === 'COLUMN_REF') {
    const name = columnSpelling(scope.frame, String((item['column_names'] as string[]).at(-1)));
    if (name === undefined) throw new NotDecomposable('a selected column is not known to the catalog');
    return { name };
  }
  // DuckDB's output name keeps the type as written (e.g. CAST(x AS "DOUBLE")); the tree does not.
  if (some(item, (n) => n['class'] === 'CAST')) throw new NotDecomposable('an unaliased CAST in the select list');
  const probe = selectNode({ select_list: [withAlias(item, '')], from_table: { type: 'EMPTY', alias: '', sample: null } });
  return { nameAst: statementJson(probe) };
}

export function decompose(node: Node, ref: FrameRef): Decomposition {
  try {
    checkShape(node, ref);
    const scope: Scope = { frame: ref.frame, qualifier: qualifierOf(ref.table), declared: declaredColumns(ref.frame) };
    const select = nodes(node, 'select_list');
    const aliases = explicitAliases(select);
    for (const name of referencedNames(child(node, 'where_clause'), scope)) {
      if (aliases.has(name) && !scope.declared?.has(name)) throw new NotDecomposable(`WHERE ${name} may be a select alias (the map has none)`);
    }
    const keys = groupKeys(node, scope, aliases);
    const partials = new Partials(scope);
    const ctx: RewriteContext = { scope, partials, keys, aliases: new Set() };
    const outputs = select.map((item) => outputName(item, scope));
    const mergedSelect = select.map((item, i) => withAlias(rewrite(item, ctx), outputs[i]!.name ?? ''));
    ctx.aliases = new Set(aliases.keys());
    const having = child(node, 'having');
    const mergedHaving = having && rewrite(having, ctx);
    const visible = new Set([...aliases.keys(), ...outputs.flatMap((o) => (o.name ? [o.name.toLowerCase()] : []))]);
    const modifiers = nodes(node, 'modifiers').map((m) => {
      if (str(m, 'type') !== 'ORDER_MODIFIER') return cloneJson(m);
      const orders = nodes(m, 'orders').map((o) => {
        const e = child(o, 'expression')!;
        const path = str(e, 'class') === 'COLUMN_REF' ? (e['column_names'] as string[]) : null;
        // ORDER BY <output name> and ORDER BY <ordinal> mean the same over the merge's output.
        const verbatim = str(e, 'class') === 'CONSTANT' || (path?.length === 1 && visible.has(path[0]!.toLowerCase()));
        return { ...o, expression: verbatim ? cloneJson(e) : rewrite(e, ctx) };
      });
      return { ...m, orders };
    });
    if (keys.length === 0 && partials.list.length === 0) throw new NotDecomposable('no GROUP BY and no decomposable aggregate');
    const sets = keys.length ? [keys.map((_, i) => i)] : [];
    const map = selectNode({
      select_list: [...keys.map((k, i) => withAlias(k.ast, keyColumn(i))), ...partials.list.map((p) => withAlias(p.ast, p.name))],
      from_table: cloneJson(ref.table),
      where_clause: cloneJson(child(node, 'where_clause')),
      group_expressions: keys.map((k) => cloneJson(k.ast)),
      group_sets: sets,
    });
    const merge = selectNode({
      select_list: mergedSelect,
      from_table: baseTable('partials'),
      group_expressions: keys.map((_, i) => columnRef(keyColumn(i))),
      group_sets: sets,
      having: mergedHaving,
      modifiers,
    });
    return { ok: true, map, merge, outputs, keys: keys.length };
  } catch (e) {
    if (e instanceof NotDecomposable) return { ok: false, reason: e.message };
    throw e;
  }
}

/** Bare column names (lower-case) used in an expression. */
function referencedNames(e: Node | null, scope: Scope): string[] {
  const out: string[] = [];
  if (e)
    walk(e, (n) => {
      if (n['class'] === 'COLUMN_REF') {
        const path = columnPath(n, scope.qualifier);
        if (path.length === 1) out.push(path[0]!);
      }
    });
  return out;
}
