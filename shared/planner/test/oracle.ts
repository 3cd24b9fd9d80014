// The oracle: run a plan the way bees would (map per cell group into `partials`, then merge; or
// the whole query over pruned views) and compare with plain DuckDB over all the files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { frameViewSql, planQuery, renderPlan, type Catalog, type PlanOptions, type RenderedPlan } from '../src/index.js';
import { deserializer, query, serialize, type Result } from './duck.js';

export async function planFor(conn: DuckDBConnection, sql: string, catalog: Catalog, options?: Partial<PlanOptions>) {
  const result = planQuery(await serialize(conn, sql), catalog, { bees: 3, targetBytesPerGroup: 8 << 10, sql, ...options });
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return renderPlan(result.plan, deserializer(conn));
}

const columnsOf = (catalog: Catalog, frame: string) => catalog.find((f) => f.name === frame)?.columns;

export async function runPlan(conn: DuckDBConnection, plan: RenderedPlan, catalog: Catalog): Promise<Result> {
  const view = (frame: string, files: string[]) => conn.run(frameViewSql(frame, files, columnsOf(catalog, frame)));
  if (plan.kind === 'whole') {
    for (const f of plan.frames)
      await view(
        f.frame,
        f.cells.map((c) => c.path),
      );
    return query(conn, plan.sql);
  }
  // As bees do: each map's rows go through a Parquet file, and the merge reads a view over them
  // (Parquet changes some types, e.g. HUGEINT comes back as DOUBLE).
  const dir = mkdtempSync(join(tmpdir(), 'apiary-partials-'));
  try {
    const files: string[] = [];
    for (const [i, g] of plan.groups.entries()) {
      await view(
        plan.frame.frame,
        g.cells.map((c) => c.path),
      );
      files.push(join(dir, `partial-${i}.parquet`));
      await conn.run(`COPY (${plan.mapSql}) TO '${files[i]}' (FORMAT parquet)`);
    }
    await conn.run(frameViewSql(plan.partialsTable, files));
    return await query(conn, plan.mergeSql);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runPlain(conn: DuckDBConnection, sql: string, catalog: Catalog): Promise<Result> {
  for (const f of catalog)
    await conn.run(
      frameViewSql(
        f.name,
        f.cells.map((c) => c.path),
        f.columns,
      ),
    );
  return query(conn, sql);
}

const isFloat = (v: unknown): v is number => typeof v === 'number' && !Number.isInteger(v);
/** Sort key with floats rounded, so equal multisets line up despite summation order. */
const rowKey = (r: unknown[]) => JSON.stringify(r.map((v) => (isFloat(v) ? Number(v.toPrecision(8)) : v)));

export function expectSameResult(actual: Result, expected: Result, ordered: boolean): void {
  expect(actual.names).toEqual(expected.names);
  expect(actual.types).toEqual(expected.types);
  expect(actual.rows.length).toBe(expected.rows.length);
  const sort = (rows: unknown[][]) => (ordered ? rows : [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b))));
  const [a, e] = [sort(actual.rows), sort(expected.rows)];
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      const w = e[i]![j];
      if (isFloat(v) || isFloat(w)) {
        expect(typeof v).toBe('number');
        expect(Math.abs((v as number) - (w as number))).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(w as number), 1e-300));
      } else expect(v).toEqual(w);
    });
  });
}

/** Plan, run both ways, compare; returns the plan for further assertions. */
export async function checkQuery(conn: DuckDBConnection, sql: string, catalog: Catalog, options?: Partial<PlanOptions>): Promise<RenderedPlan> {
  const plan = await planFor(conn, sql, catalog, options);
  const actual = await runPlan(conn, plan, catalog);
  const expected = await runPlain(conn, sql, catalog);
  // Ordered only by an outer ORDER BY (not one inside an aggregate or OVER (…)).
  expectSameResult(actual, expected, /\border by\b(?![^()]*\))/i.test(sql));
  return plan;
}
