// Generated frames: a few small Parquet cells with ints, floats, decimals, strings, NULLs,
// timestamps and dates, skewed groups, an all-NULL column in one cell and an empty cell.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Cell, ColumnStats, FrameInfo, StatValue } from '../src/index.js';
import { query } from './duck.js';

export const BIG = 9007199254740993n; // 2^53 + 1: not a JS number

/** Rows of cell c: ids [100c, 100c + 100), sorted across cells. Cell 6 is empty. */
function cellSql(c: number): string {
  const [lo, hi] = c === 6 ? [0, 0] : [c * 100, c * 100 + 100];
  return `SELECT id::BIGINT AS id,
      CASE WHEN id % 100 = 99 THEN NULL WHEN id % 10 < 7 THEN 'a' WHEN id % 10 < 9 THEN 'b'
           WHEN id >= 500 THEN 'z' ELSE 'c' END AS g,
      CASE WHEN id % 11 = 0 THEN NULL ELSE (id % 7)::INTEGER END AS k,
      CASE WHEN id % 13 = 0 THEN NULL ELSE (hash(id) % 10000) / 7.0 - 500 END::DOUBLE AS x,
      CASE WHEN id BETWEEN 400 AND 499 OR id % 17 = 0 THEN NULL ELSE ((id * 37) % 1000 - 500)::INTEGER END AS i,
      ((id * 7919) % 100000 / 100.0)::DECIMAL(12,2) AS d,
      (id % 9 * 0.1)::FLOAT AS f,
      TIMESTAMP '2024-01-01' + to_hours(id::BIGINT) AS ts,
      (DATE '2024-01-01' + (id // 24)::INTEGER) AS day,
      'item-' || lpad(id::VARCHAR, 4, '0') AS s,
      CASE WHEN id = 333 THEN ${BIG} ELSE 8000000000000000000 + id END::BIGINT AS big
    FROM range(${lo}, ${hi}) t(id)`;
}

export const CELL_COUNT = 7;

const toStat = (v: unknown, type: string): StatValue => {
  if (v === null || v === undefined) return null;
  if (/^(BIGINT|HUGEINT|DECIMAL|INTEGER|DOUBLE|FLOAT)/.test(type)) return Number(v);
  return String(v);
};

/** Statistics like a catalog would record them: numbers, strings, ISO timestamp strings. */
async function cellStats(conn: DuckDBConnection, file: string): Promise<{ rows: number; stats: Record<string, ColumnStats> }> {
  const desc = await query(conn, `DESCRIBE SELECT * FROM read_parquet('${file}')`);
  const cols = desc.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  const parts = cols.map((c) => `min("${c.name}"), max("${c.name}"), count(*) - count("${c.name}")`);
  const r = await query(conn, `SELECT count(*), ${parts.join(', ')} FROM read_parquet('${file}')`);
  const row = r.rows[0]!;
  const stats: Record<string, ColumnStats> = {};
  cols.forEach((c, i) => {
    const [min, max, nulls] = row.slice(1 + 3 * i, 4 + 3 * i);
    const iso = (v: StatValue) => (c.type === 'TIMESTAMP' && typeof v === 'string' ? v.replace(' ', 'T') + 'Z' : v);
    stats[c.name] = { min: iso(toStat(min, c.type)), max: iso(toStat(max, c.type)), null_count: Number(nulls) };
  });
  return { rows: Number(row[0]), stats };
}

export interface Fixture {
  dir: string;
  typed: FrameInfo;
  untyped: FrameInfo;
  files: string[];
  cleanup: () => void;
}

/** Write the cells of frame `sales` into a fresh temp dir and describe them as the catalog would. */
export async function makeSales(conn: DuckDBConnection): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-planner-'));
  const cells: Cell[] = [];
  for (let c = 0; c < CELL_COUNT; c++) {
    const path = join(dir, `sales-${c}.parquet`);
    await conn.run(`COPY (${cellSql(c)}) TO '${path}' (FORMAT parquet)`);
    cells.push({ path, bytes: statSync(path).size, ...(await cellStats(conn, path)) });
  }
  const desc = await query(conn, `DESCRIBE SELECT * FROM read_parquet('${cells[0]!.path}')`);
  const columns = desc.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  return {
    dir,
    typed: { name: 'sales', cells, columns },
    untyped: { name: 'sales', cells },
    files: cells.map((c) => c.path),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      if (existsSync(dir)) throw new Error(`temp dir ${dir} still exists`);
    },
  };
}

/** A second frame, for queries over more than one frame: g → region, in two cells. */
export async function makeRegions(conn: DuckDBConnection, dir: string): Promise<FrameInfo> {
  const cells: Cell[] = [];
  for (const [n, rows] of [
    [0, "('a', 'north'), ('b', 'south')"],
    [1, "('c', 'north'), ('z', 'east')"],
  ] as const) {
    const path = join(dir, `regions-${n}.parquet`);
    await conn.run(`COPY (SELECT * FROM (VALUES ${rows}) v(g, region)) TO '${path}' (FORMAT parquet)`);
    cells.push({ path, bytes: statSync(path).size, ...(await cellStats(conn, path)) });
  }
  return {
    name: 'regions',
    cells,
    columns: [
      { name: 'g', type: 'VARCHAR' },
      { name: 'region', type: 'VARCHAR' },
    ],
  };
}
