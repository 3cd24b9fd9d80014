// planQuery: from DuckDB's parse tree and the catalog to a plan — decomposed map/merge over cell
// groups when provably equal to plain DuckDB, otherwise the whole query on one bee.
import { statementJson } from './ast.js';
import { decompose } from './decompose.js';
import { findFrameRefs, pruneFrame, qualifierOf, wholeFrames, filterOf } from './frames.js';
import { groupCells } from './groups.js';
import { parseStatement } from './statement.js';
import type { Catalog, CellGroup, PlanOptions, PlanResult } from './types.js';

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
