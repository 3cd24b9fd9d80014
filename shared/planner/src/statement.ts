// Input gate: the planner only ever sees json_serialize_sql output, and DuckDB serializes only
// SELECT statements, so every other statement arrives as its "Only SELECT statements" error.
import { child, isNode, nodes, str, type Node } from './ast.js';
import { parseJson } from './json.js';
import type { PlanErrorCode } from './types.js';

export type StatementResult = { ok: true; node: Node } | { ok: false; code: PlanErrorCode; message: string };

const readOnly = (message: string): StatementResult => ({ ok: false, code: 'SQL_READ_ONLY', message });
const sqlError = (message: string): StatementResult => ({ ok: false, code: 'SQL_ERROR', message });

/** Parse the serialized statement; only a single SELECT statement passes. */
export function parseStatement(astJson: string): StatementResult {
  let doc;
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
