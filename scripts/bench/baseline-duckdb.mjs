// Baseline for the bench: what one plain Node process with DuckDB costs, without apiary.
//
//   node scripts/bench/baseline-duckdb.mjs            import @duckdb/node-api, open an in-memory DuckDB,
//                                                      run SELECT 42, print 42, exit.
//   node scripts/bench/baseline-duckdb.mjs hold [--settle MS] [--max-hold MS]
//                                                      the same, then stay idle: after MS (default 1000)
//                                                      print one JSON line {"type":"hold","pid","rssBytes",
//                                                      "answer"} and wait until stdin closes, SIGTERM/SIGINT,
//                                                      or --max-hold (default 120000) passes.
//
// @duckdb/node-api resolves from the repo's node_modules (this file lives inside the repo).
// threads=1 as in a bee (services/bee/src/duck.ts), so the numbers compare like for like.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { settle: { type: 'string', default: '1000' }, 'max-hold': { type: 'string', default: '120000' } },
});
const mode = positionals[0] ?? 'query';
if (mode !== 'query' && mode !== 'hold') {
  process.stderr.write(`baseline-duckdb: unknown mode ${mode} (query | hold)\n`);
  process.exit(2);
}

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
const reader = await conn.runAndReadAll('SELECT 42 AS answer');
const answer = Number(reader.getRowObjectsJS()[0]?.answer);

if (mode === 'query') {
  process.stdout.write(`${answer}\n`);
  conn.closeSync();
  instance.closeSync();
  process.exit(answer === 42 ? 0 : 1);
}

// hold
const rssBytes = () => {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
};
const quit = () => {
  try {
    conn.closeSync();
    instance.closeSync();
  } finally {
    process.exit(0);
  }
};
process.once('SIGTERM', quit);
process.once('SIGINT', quit);
process.stdin.once('end', quit);
process.stdin.once('error', quit);
process.stdin.resume();
setTimeout(quit, Number(values['max-hold'])); // bounded: never outlives --max-hold
setTimeout(() => {
  process.stdout.write(JSON.stringify({ type: 'hold', pid: process.pid, rssBytes: rssBytes(), answer }) + '\n');
}, Number(values.settle));
