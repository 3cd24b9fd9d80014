// Turning a plan into SQL. The planner has no DuckDB: the bee renders the plan's parse trees with
// DuckDB's own printer (json_deserialize_sql), so quoting, literals and casts are DuckDB's.
import { isNode, nodes } from './ast.js';
import { parseJson, stringifyJson } from './json.js';
import type { FrameColumn, Plan, RenderedPlan } from './types.js';

/** Renders one json_serialize_sql-shaped statement to SQL, e.g. by running DESERIALIZE_SQL. */
export type Deserialize = (statementJson: string) => Promise<string>;

/** Parameterised SQL a bee runs to get a parse tree: bind the SQL text as $1. */
export const SERIALIZE_SQL = 'SELECT json_serialize_sql($1::VARCHAR) AS ast';
/** Parameterised SQL a bee runs to render a statement: bind the statement JSON as $1. */
export const DESERIALIZE_SQL = 'SELECT json_deserialize_sql($1::JSON) AS sql';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Fill every SQL field of a plan: map/merge (with DuckDB's output names), or the whole query. */
export async function renderPlan(plan: Plan, deserialize: Deserialize): Promise<RenderedPlan> {
  if (plan.kind === 'whole') return { ...plan, sql: plan.sql ?? (await deserialize(plan.ast)) };
  const names = await Promise.all(
    plan.outputs.map(async (o) => {
      if (o.name !== undefined) return o.name;
      const sql = await deserialize(o.nameAst!);
      if (!sql.startsWith('SELECT ')) throw new Error(`unexpected rendering of an output name: ${sql}`);
      return sql.slice('SELECT '.length);
    }),
  );
  const doc = parseJson(plan.mergeAst);
  const statement = isNode(doc) ? nodes(doc, 'statements')[0] : undefined;
  const node = statement?.['node'];
  if (!isNode(node)) throw new Error('malformed merge statement');
  nodes(node, 'select_list').forEach((item, i) => {
    item['alias'] = names[i]!;
  });
  const [mapSql, mergeSql] = await Promise.all([deserialize(plan.mapAst), deserialize(stringifyJson(doc))]);
  return { ...plan, mapSql, mergeSql };
}

/** A type text from the catalog goes into SQL verbatim: refuse anything that could end it. */
function checkType(type: string): string {
  if (/[;']|--|\/\*/.test(type)) throw new Error(`unsafe column type: ${type}`);
  return type;
}

/**
 * The view a bee creates before running a map (one group's cells) or a whole query (all kept
 * cells). With no files it needs the declared columns to make an empty view of the right types.
 */
export function frameViewSql(frame: string, files: readonly string[], columns?: readonly FrameColumn[]): string {
  return `CREATE OR REPLACE TEMP VIEW ${quoteIdent(frame)} AS ${frameSelectSql(frame, files, columns)}`;
}

/** The SELECT of a frame view: its files, or with none a typed empty relation from the columns. */
export function frameSelectSql(frame: string, files: readonly string[], columns?: readonly FrameColumn[]): string {
  if (files.length > 0) return `SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], hive_partitioning = false)`;
  if (!columns || columns.length === 0) throw new Error(`frame ${frame} has no cells and no declared columns`);
  const list = columns.map((c) => `CAST(NULL AS ${checkType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ');
  return `SELECT ${list} WHERE false`;
}
