// A plain DuckDB process that runs SQL sent on stdin, one statement at a time: the baseline the
// frames-tpch suite compares apiary against (one warm process, no apiary in the way).
//
//   node scripts/bench/duckdb-sql.mjs [--threads T] [--max-life MS]
//
// Opens an in-memory DuckDB (threads = T, default the number of cores), prints
// {"type":"ready","pid","threads","version"} and then, for each stdin line {"id","sql"}, runs the
// SQL and prints {"id","ms","columns","rows"} (ms: the statement alone, in this process) or
// {"id","error"}. 64-bit integers come back as JSON numbers when exact, else as strings; other
// values as DuckDB's JSON rendering (dates as 1998-09-02). Exits when stdin closes, on
// SIGTERM/SIGINT, or after --max-life (default 1800000 ms), whichever comes first.
//
// @duckdb/node-api resolves from the repo's node_modules (this file lives inside the repo).

import os from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
    'max-life': { type: 'string', default: '1800000' },
  },
});

const instance = await DuckDBInstance.create(':memory:', { threads: String(values.threads) });
const conn = await instance.connect();
const meta = (await conn.runAndReadAll("SELECT current_setting('threads') AS threads, version() AS version")).getRowObjectsJson()[0];

let closed = false;
const quit = (code = 0) => {
  if (closed) return;
  closed = true;
  try {
    conn.closeSync();
    instance.closeSync();
  } finally {
    process.exit(code);
  }
};
process.once('SIGTERM', () => quit(0));
process.once('SIGINT', () => quit(0));
setTimeout(() => quit(0), Number(values['max-life'])).unref();

const BIG = /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT|UINTEGER)$/;
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
send({ type: 'ready', pid: process.pid, threads: Number(meta?.threads), version: String(meta?.version) });

// One statement at a time, in arrival order.
let chain = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      send({ id: null, error: `not JSON: ${line.slice(0, 200)}` });
      return;
    }
    try {
      const t0 = performance.now();
      const reader = await conn.runAndReadAll(String(req.sql));
      const ms = performance.now() - t0;
      const names = reader.columnNames();
      const types = reader.columnTypes().map(String);
      const rows = reader.getRowObjectsJson().map((r) => {
        const o = {};
        names.forEach((n, i) => {
          const v = r[n];
          o[n] = BIG.test(types[i]) && typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
        });
        return o;
      });
      send({ id: req.id ?? null, ms, columns: names.map((name, i) => ({ name, type: types[i] })), rows });
    } catch (e) {
      send({ id: req.id ?? null, error: e instanceof Error ? e.message : String(e) });
    }
  });
});
rl.on('close', () => void chain.finally(() => quit(0)));
