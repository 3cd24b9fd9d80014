// Generate a TPC-H-lineitem-like Parquet input with plain DuckDB (no tpch extension: it cannot be
// downloaded everywhere), for the frames-tpch bench suite.
//
//   node scripts/bench/gen-lineitem.mjs <outDir> [--rows N] [--files F] [--threads T]
//
// Writes F files <outDir>/lineitem-<k>.parquet (rows spread evenly, default 10,000,000 rows in 8
// files) and prints one JSON line {"type":"generated","rows","files":[...],"bytes","ms"}.
//
// Columns (values from range(), hash() and random()):
//   l_orderkey      BIGINT   i / 4 + 1 (about 4 lines per order)
//   l_quantity      DOUBLE   1 … 50
//   l_extendedprice DOUBLE   quantity × a part price of 900.00 … 1899.99, 2 decimals
//   l_discount      DOUBLE   0.00 … 0.10
//   l_tax           DOUBLE   0.00 … 0.08
//   l_returnflag    VARCHAR  N when shipped (+ up to 30 days) after 1995-06-17, else A or R (random)
//   l_linestatus    VARCHAR  O when shipped after 1995-06-17, else F
//   l_shipdate      DATE     1992-01-02 … 1998-12-01
// so Q1 sees TPC-H's four groups (A/F, N/F, N/O, R/F) and Q6 its ~2 % selectivity.
//
// @duckdb/node-api resolves from the repo's node_modules (this file lives inside the repo).

import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: '10000000' },
    files: { type: 'string', default: '8' },
    threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
  },
});
const outDir = positionals[0];
const rows = Number(values.rows);
const files = Number(values.files);
if (!outDir || !Number.isInteger(rows) || rows < 1 || !Number.isInteger(files) || files < 1) {
  process.stderr.write('usage: gen-lineitem.mjs <outDir> [--rows N >= 1] [--files F >= 1] [--threads T]\n');
  process.exit(2);
}

const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

const t0 = performance.now();
await mkdir(outDir, { recursive: true });
const instance = await DuckDBInstance.create(':memory:', { threads: String(values.threads) });
const conn = await instance.connect();
const out = [];
try {
  for (let k = 0; k < files; k++) {
    const lo = Math.floor((rows * k) / files);
    const hi = Math.floor((rows * (k + 1)) / files);
    if (hi <= lo) continue;
    const file = path.join(outDir, `lineitem-${String(k).padStart(3, '0')}.parquet`);
    await conn.run(`COPY (
      WITH base AS (
        SELECT
          i,
          (hash(i, 1) % 50 + 1)::DOUBLE AS q,
          (90000 + hash(i, 2) % 100000)::DOUBLE / 100 AS part_price,
          DATE '1992-01-02' + (hash(i, 3) % 2526)::INTEGER AS ship,
          (hash(i, 4) % 31)::INTEGER AS receipt_lag
        FROM range(${lo}, ${hi}) t(i)
      )
      SELECT
        (i // 4 + 1)::BIGINT AS l_orderkey,
        q AS l_quantity,
        round(q * part_price, 2) AS l_extendedprice,
        (hash(i, 5) % 11)::DOUBLE / 100 AS l_discount,
        (hash(i, 6) % 9)::DOUBLE / 100 AS l_tax,
        CASE WHEN ship + receipt_lag > DATE '1995-06-17' THEN 'N' WHEN random() < 0.5 THEN 'R' ELSE 'A' END AS l_returnflag,
        CASE WHEN ship > DATE '1995-06-17' THEN 'O' ELSE 'F' END AS l_linestatus,
        ship AS l_shipdate
      FROM base
      ORDER BY i
    ) TO ${lit(file)} (FORMAT parquet)`);
    out.push(file);
  }
} finally {
  conn.closeSync();
  instance.closeSync();
}
let bytes = 0;
for (const f of out) bytes += (await stat(f)).size;
process.stdout.write(JSON.stringify({ type: 'generated', rows, files: out, bytes, ms: Math.round(performance.now() - t0) }) + '\n');
