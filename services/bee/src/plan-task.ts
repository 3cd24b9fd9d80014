import { DESERIALIZE_SQL, explain, planQuery, renderPlan, SERIALIZE_SQL, type Catalog } from '@apiary/planner';
import { ApiaryError, type PlanTaskSpec, type TaskValue } from '@apiary/protocol';
import type { Duck } from './duck.js';

/**
 * Plan SQL over frames: DuckDB parses it (json_serialize_sql), the planner prunes cells and splits
 * the work, DuckDB prints the resulting statements back to SQL (json_deserialize_sql).
 */
export async function runPlan(duck: Duck, spec: PlanTaskSpec, signal: AbortSignal): Promise<TaskValue> {
  const ast = await duck.scalar(SERIALIZE_SQL, [spec.sql], signal);
  const r = planQuery(ast, spec.catalog as Catalog, { bees: spec.bees, targetBytesPerGroup: spec.targetBytesPerGroup, sql: spec.sql });
  if (!r.ok) throw new ApiaryError(r.code === 'SQL_READ_ONLY' ? 'SQL_READ_ONLY' : 'SQL_ERROR', r.message);
  const plan = await renderPlan(r.plan, (json) => duck.scalar(DESERIALIZE_SQL, [json], signal));
  return { kind: 'plan', plan, explain: explain(plan) };
}
