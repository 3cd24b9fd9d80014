import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import type { Column } from '@apiary/protocol';
import { csvLine, FORMATS, formatSql, ndjsonLine, type Format } from '../format.js';
import { Session } from '../session.js';
import { ProgressLine, wantProgress } from '../progress-line.js';

export const SQL_USAGE = `keeper sql "<SQL>" [--format table|json|csv|ndjson] [--explain] [--into FRAME [--append]] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Run SQL on the bees (DuckDB) and print the result. Frames are tables: the queen prunes their cells
  by statistics, splits decomposable aggregates over the bees and merges them; --explain prints the plan;
  --into FRAME writes the result to a frame (a new version) instead of printing it.
  Rows stream from the bee with no size cap: csv and ndjson print as they arrive; table and json at the end.
  On a terminal a progress line (cells read of all, then the merge) shows on stderr until the rows come.`;

export async function sqlCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    format: { type: 'string', short: 'f' },
    explain: { type: 'boolean' },
    into: { type: 'string' },
    append: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(SQL_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError('keeper sql takes exactly one SQL string (quote it)');
  const format = (values.format ?? 'table') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format: "${values.format}" is not one of ${FORMATS.join(', ')}`);
  const flags = colonyFlags(values);
  const session = await Session.open({ ...flags, warmDuckdb: true });
  // Not for --explain (one quick plan task) nor a piped or --format json answer.
  const line = wantProgress(format === 'json' || values.explain === true) ? new ProgressLine(session.colony.client, 'query') : null;
  try {
    if (!values.explain && values.into === undefined) {
      await printStreamed(session, positionals[0]!, { timeoutMs: flags.timeoutMs, requestId: line?.requestId, onFirst: () => line?.stop() }, format);
      return 0;
    }
    const r = await session.colony.client.sql(
      positionals[0]!,
      {
        explain: values.explain ?? false,
        limits: { timeoutMs: flags.timeoutMs },
        into: values.into,
        intoMode: values.append ? 'append' : 'overwrite',
        requestId: line?.requestId,
      },
      session.signal,
    );
    line?.stop();
    if (values.explain) process.stdout.write((r.explain ?? '') + '\n');
    else if (r.written) process.stdout.write(JSON.stringify(r.written) + '\n');
    else process.stdout.write(formatSql({ kind: 'sql', columns: r.columns, rows: r.rows }, format));
    return 0;
  } finally {
    line?.stop();
    await session.close();
  }
}

/**
 * The rows come streamed (sql-stream.ts) whatever the format: csv and ndjson are printed as they
 * arrive, reading no faster than stdout takes them; table and json need every row first, so they
 * are gathered here (in the keeper, not the queen).
 */
async function printStreamed(session: Session, sql: string, o: { timeoutMs?: number; requestId?: string; onFirst: () => void }, format: Format): Promise<void> {
  let columns: Column[] = [];
  const held: Record<string, unknown>[] = [];
  const out = process.stdout;
  const drain = () => (out.writableNeedDrain ? new Promise<void>((r) => out.once('drain', () => r())) : null);
  await session.colony.client.sqlStream(
    sql,
    { limits: { timeoutMs: o.timeoutMs }, requestId: o.requestId },
    {
      onColumns(c) {
        // The rows are here: the progress line gives way to them.
        o.onFirst();
        columns = c;
        if (format === 'csv') out.write(csvLine(c.map((x) => x.name)));
      },
      onRows(rows) {
        if (format === 'csv') out.write(rows.map((r) => csvLine(r)).join(''));
        else if (format === 'ndjson') out.write(rows.map((r) => ndjsonLine(columns, r)).join(''));
        else
          for (const r of rows) {
            const o: Record<string, unknown> = {};
            columns.forEach((c, i) => {
              o[c.name] = r[i];
            });
            held.push(o);
          }
      },
    },
    session.signal,
    drain,
  );
  if (format === 'table' || format === 'json') out.write(formatSql({ kind: 'sql', columns, rows: held }, format));
}
