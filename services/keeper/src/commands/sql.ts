import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { FORMATS, formatSql, type Format } from '../format.js';
import { Session } from '../session.js';

export const SQL_USAGE = `keeper sql "<SQL>" [--format table|json|csv] [--explain] [--into FRAME [--append]] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Run SQL on the bees (DuckDB) and print the result. Frames are tables: the queen prunes their cells
  by statistics, splits decomposable aggregates over the bees and merges them; --explain prints the plan;
  --into FRAME writes the result to a frame (a new version) instead of printing it.`;

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
  const session = await Session.open(flags);
  try {
    const r = await session.sql(positionals[0]!, {
      explain: values.explain ?? false,
      limits: { timeoutMs: flags.timeoutMs },
      into: values.into,
      intoMode: values.append ? 'append' : 'overwrite',
    });
    if (values.explain) process.stdout.write((r.explain ?? '') + '\n');
    else if (r.written) process.stdout.write(JSON.stringify(r.written) + '\n');
    else process.stdout.write(formatSql({ kind: 'sql', columns: r.columns, rows: r.rows }, format));
    return 0;
  } finally {
    await session.close();
  }
}
