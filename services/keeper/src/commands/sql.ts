import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { FORMATS, formatSql, type Format } from '../format.js';
import { Session } from '../session.js';

export const SQL_USAGE = `keeper sql "<SQL>" [--format table|json|csv] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Run one SQL statement on a bee (DuckDB) and print the result.`;

export async function sqlCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, format: { type: 'string', short: 'f' } });
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
    const t = await session.run({ kind: 'sql', sql: positionals[0]! }, { timeoutMs: flags.timeoutMs });
    if (t.value?.kind === 'sql') process.stdout.write(formatSql(t.value, format));
    return 0;
  } finally {
    await session.close();
  }
}
