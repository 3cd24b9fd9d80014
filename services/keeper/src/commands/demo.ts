import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '@apiary/config';
import type { BeeStatus, SqlResult, TaskView } from '@apiary/protocol';
import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { formatTable } from '../format.js';
import { Session } from '../session.js';

export const DEMO_USAGE = `keeper demo [--rows N] [--bees N] [--memory-per-bee 256MB]
  Start an ephemeral colony, generate a sample orders dataset with SQL (Parquet, in a temp dir),
  run a handful of queries spread over all bees, print the results and each bee's state and memory,
  then remove everything.`;

const QUERIES: [title: string, sql: (glob: string) => string][] = [
  [
    'Orders and revenue by region',
    (g) => `SELECT region, count(*) AS orders, round(sum(amount), 2) AS revenue FROM read_parquet('${g}') GROUP BY region ORDER BY region`,
  ],
  [
    'Revenue by quarter',
    (g) =>
      `SELECT quarter(ordered_at) AS quarter, round(sum(amount), 2) AS revenue, round(avg(amount), 2) AS avg_order FROM read_parquet('${g}') GROUP BY 1 ORDER BY 1`,
  ],
  [
    'Top 5 customers',
    (g) =>
      `SELECT customer, count(*) AS orders, round(sum(amount), 2) AS spent FROM read_parquet('${g}') GROUP BY customer ORDER BY spent DESC, customer LIMIT 5`,
  ],
  [
    'Order size distribution',
    (g) =>
      `SELECT CASE WHEN amount < 100 THEN 'small' WHEN amount < 500 THEN 'medium' ELSE 'large' END AS size, count(*) AS orders FROM read_parquet('${g}') GROUP BY 1 ORDER BY 2 DESC`,
  ],
];

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, rows: { type: 'string' } });
  if (values.help) {
    process.stdout.write(DEMO_USAGE + '\n');
    return 0;
  }
  const flags = colonyFlags(values);
  const rows = values.rows === undefined ? 1_000_000 : Number(values.rows);
  const t0 = Date.now();
  const session = await Session.open(flags);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'apiary-demo-'));
  try {
    const colony = await session.colony.waitForBees();
    const bees = colony.hives.reduce((n, h) => n + h.resources.bees, 0);
    const parts = bees * 2;
    const per = Math.ceil(rows / parts);
    const say = (s: string) => process.stdout.write(s + '\n');
    say(`apiary demo: ${bees} bees, ${rows.toLocaleString('en')} orders in ${parts} Parquet files under ${dir}\n`);

    const gen = await Promise.all(
      Array.from({ length: parts }, (_, p) =>
        session.run({ kind: 'sql', sql: generateSql(path.join(dir, `orders-${p}.parquet`), p * per, Math.min(rows, (p + 1) * per)) }),
      ),
    );
    say(`generated ${parts} files in ${Date.now() - t0} ms (${where(gen)})\n`);

    const glob = path.join(dir, '*.parquet');
    const results = await Promise.all(QUERIES.map(([, sql]) => session.run({ kind: 'sql', sql: sql(glob) })));
    QUERIES.forEach(([title], i) => {
      const t = results[i]!;
      say(`▸ ${title}  (${where([t])}, ${t.attempts[0]?.durationMs ?? 0} ms)`);
      say(formatTable(t.value as SqlResult));
    });

    const after = await session.colony.client.colony();
    say('Bees');
    for (const h of after.hives) for (const b of h.bees) say(beeLine(h.resources.name, b));
    say(`\ndone in ${Date.now() - t0} ms; tearing the colony down`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await session.close();
  }
}

function generateSql(file: string, from: number, to: number): string {
  return `COPY (
    SELECT i AS order_id,
           hash(i * 13) % 10000 AS customer,
           ['north', 'south', 'east', 'west', 'central'][(hash(i) % 5)::INTEGER + 1] AS region,
           round((hash(i * 7) % 100000) / 100.0, 2) AS amount,
           TIMESTAMP '2026-01-01' + to_days((hash(i * 3) % 365)::INTEGER) AS ordered_at
    FROM range(${from}, ${to}) t(i)
  ) TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`;
}

function where(ts: TaskView[]): string {
  const bees = [...new Set(ts.map((t) => `bee-${t.attempts.at(-1)?.bee}`))].sort();
  return `on ${bees.join(', ')}`;
}

function beeLine(hive: string, b: BeeStatus): string {
  const width = 20;
  const filled = Math.min(width, Math.round((b.rssBytes / b.budgetBytes) * width));
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  return `  ${hive}/bee-${b.id}  pid ${String(b.pid ?? '-').padEnd(7)} ${b.state.padEnd(8)} tasks ${String(b.tasksRun).padStart(3)}  ${bar} ${formatBytes(b.rssBytes)} / ${formatBytes(b.budgetBytes)}`;
}
