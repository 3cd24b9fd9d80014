// planQuery: from DuckDB's parse tree and the catalog to a plan — decomposed map/merge over cell
// groups when provably equal to plain DuckDB, otherwise the whole query on one bee.
import { child, isNode, nodes, statementJson, str, type Node } from './ast.js';
import { decompose } from './decompose.js';
import { filterOf, findFrameRefs, pruneFrame, qualifierOf, wholeFrames } from './frames.js';
import { groupCells } from './groups.js';
import { type Json, parseJson } from './json.js';
import type { Catalog, CellGroup, PlanErrorCode, PlanOptions, PlanResult } from './types.js';

// Input gate: the planner only ever sees json_serialize_sql output, and DuckDB serializes only
// SELECT statements, so every other statement arrives as its "Only SELECT statements" error.
type StatementResult = { ok: true; node: Node } | { ok: false; code: PlanErrorCode; message: string };

const readOnly = (message: string): StatementResult => ({ ok: false, code: 'SQL_READ_ONLY', message });
const sqlError = (message: string): StatementResult => ({ ok: false, code: 'SQL_ERROR', message });

/** Parse the serialized statement; only a single SELECT statement passes. */
function parseStatement(astJson: string): StatementResult {
  let doc: Json;
  try {
    doc = parseJson(astJson);
  } catch (e) {
    return sqlError(`the parse tree is not JSON: ${(e as Error).message}`);
  }
  if (!isNode(doc)) return sqlError('the parse tree is not a JSON object');
  if (doc['error'] === true) {
    const message = str(doc, 'error_message') || 'DuckDB could not serialize the statement';
    // DuckDB's wording for anything that is not a SELECT (INSERT, CREATE, COPY, ATTACH, ...).
    if (/only select statements/i.test(message)) return readOnly(`only read-only SELECT queries are allowed: ${message}`);
    return sqlError(message);
  }
  const statements = nodes(doc, 'statements');
  if (statements.length === 0) return sqlError('no statement to run');
  if (statements.length > 1) return readOnly('only a single SELECT statement is allowed');
  const node = child(statements[0]!, 'node');
  if (!node) return sqlError('the parse tree has no query node');
  return { ok: true, node };
}

/**
 * Plan a query given as json_serialize_sql output (the JSON text, parsed here without losing
 * large integers). Errors: SQL_READ_ONLY for anything but one SELECT, SQL_ERROR for a parse error.
 */
export function planQuery(astJson: string, catalog: Catalog, options: PlanOptions): PlanResult {
  const parsed = parseStatement(astJson);
  if (!parsed.ok) return parsed;
  const node = parsed.node;
  const refs = findFrameRefs(node, catalog);
  let reason: string;
  if (refs.length === 0) reason = 'the query reads no frame';
  else if (refs.length > 1) reason = 'the query reads frames more than once (joins, self-joins, subqueries)';
  else {
    const ref = refs[0]!;
    const d = decompose(node, ref);
    if (d.ok) {
      const frame = pruneFrame(ref.frame, filterOf(ref), qualifierOf(ref.table));
      // A frame without cells still gets one (empty) group, so the merge sees typed partials.
      const groups: CellGroup[] = frame.cells.length ? groupCells(frame.cells, options) : [{ index: 0, cells: [], bytes: 0 }];
      const plan = {
        kind: 'decomposed' as const,
        frame,
        groups,
        mapAst: statementJson(d.map),
        mergeAst: statementJson(d.merge),
        outputs: d.outputs,
        mapKeys: d.keys,
        partialsTable: 'partials' as const,
      };
      return { ok: true, plan };
    }
    reason = d.reason;
  }
  const ast = statementJson(node);
  return {
    ok: true,
    plan: { kind: 'whole', reason, frames: wholeFrames(refs), ast, ...(options.sql === undefined ? {} : { sql: options.sql }) },
  };
}
