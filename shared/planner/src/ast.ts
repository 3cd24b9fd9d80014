// Helpers over DuckDB's serialized parse tree (json_serialize_sql): field access, walking,
// structural keys, and constructors shaped exactly like DuckDB's own output.
import { RawNumber, cloneJson, stringifyJson, type Json, type JsonObject } from './json.js';

export type Node = JsonObject;

export function isNode(v: Json | undefined): v is Node {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawNumber);
}
export function str(n: Node, key: string): string {
  const v = n[key];
  return typeof v === 'string' ? v : '';
}
export function nodes(n: Node, key: string): Node[] {
  const v = n[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}
export function child(n: Node, key: string): Node | null {
  const v = n[key];
  return isNode(v) ? v : null;
}

/** Visit every object in the tree (expressions, table refs, nested query nodes). */
export function walk(v: Json, visit: (n: Node) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, visit);
  else if (isNode(v)) {
    visit(v);
    for (const x of Object.values(v)) walk(x, visit);
  }
}

export function some(v: Json, pred: (n: Node) => boolean): boolean {
  let found = false;
  walk(v, (n) => {
    if (!found && pred(n)) found = true;
  });
  return found;
}

/** Flatten nested ANDs into conjuncts. */
export function conjuncts(e: Node | null): Node[] {
  if (!e) return [];
  if (str(e, 'class') === 'CONJUNCTION' && str(e, 'type') === 'CONJUNCTION_AND') {
    return nodes(e, 'children').flatMap(conjuncts);
  }
  return [e];
}

/** Column name parts lower-cased, with the table's own qualifier dropped (`s.x` == `x`). */
export function columnPath(e: Node, qualifier: string | null): string[] {
  const parts = (e['column_names'] as Json[]).map((p) => String(p).toLowerCase());
  if (parts.length === 2 && qualifier !== null && parts[0] === qualifier) return [parts[1]!];
  return parts;
}

/** A structural identity, as DuckDB compares expressions: no aliases, no source positions. */
export function exprKey(e: Node, qualifier: string | null): string {
  const norm = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(norm);
    if (!isNode(v)) return v;
    const out: Node = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'query_location' || k === 'alias') continue;
      out[k] = norm(x);
    }
    if (v['class'] === 'COLUMN_REF') out['column_names'] = columnPath(v, qualifier);
    if (v['class'] === 'FUNCTION') out['function_name'] = str(v, 'function_name').toLowerCase();
    return out;
  };
  return stringifyJson(norm(e));
}

export function withAlias(e: Node, alias: string): Node {
  return { ...cloneJson(e), alias };
}

export function columnRef(name: string, alias = ''): Node {
  return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias, column_names: [name] };
}

export function intConst(value: number): Node {
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    value: { type: { id: 'INTEGER', type_info: null }, is_null: false, value },
  };
}

export function func(name: string, children: Node[], isOperator = false): Node {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: isOperator,
    export_state: false,
    catalog: '',
  };
}

export function cast(e: Node, typeId: string): Node {
  return {
    class: 'CAST',
    type: 'OPERATOR_CAST',
    alias: '',
    child: e,
    cast_type: { id: typeId, type_info: null },
    try_cast: false,
  };
}

export function coalesce(children: Node[]): Node {
  return { class: 'OPERATOR', type: 'OPERATOR_COALESCE', alias: '', children };
}

export function baseTable(name: string): Node {
  return {
    type: 'BASE_TABLE',
    alias: '',
    sample: null,
    schema_name: '',
    table_name: name,
    column_name_alias: [],
    catalog_name: '',
    at_clause: null,
  };
}

/** A SELECT_NODE with every field DuckDB's deserializer reads. */
export function selectNode(parts: Partial<Node> & { select_list: Node[]; from_table: Node }): Node {
  return {
    type: 'SELECT_NODE',
    modifiers: [],
    cte_map: { map: [] },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
    sample: null,
    qualify: null,
    ...parts,
  };
}

/** Wrap a query node as json_serialize_sql output, ready for json_deserialize_sql. */
export function statementJson(node: Node): string {
  return stringifyJson({ error: false, statements: [{ node, named_param_map: [] }] });
}
