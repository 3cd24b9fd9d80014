import path from 'node:path';
import { formatBytes } from '@apiary/config';
import { checkFrameName, InputFormat, WriteMode, type WriteRequest, type WriteResponse } from '@apiary/protocol';
import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { Session } from '../session.js';

export const WRITE_USAGE = `keeper write FRAME PATH|GLOB [--format csv|parquet|json] [--mode append|overwrite] [--partition-by COL]
    [--max-attempts N] [--json] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Write files (csv, parquet or json; a path or a glob, relative to the current directory) as the
  next version of FRAME: Parquet cells of leafcutter size, written by bees, recorded atomically.
  --timeout bounds each write task. Without a running queen the frame lives only for this command.`;

export async function writeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    format: { type: 'string', short: 'f' },
    mode: { type: 'string' },
    'partition-by': { type: 'string' },
    'max-attempts': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(WRITE_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('keeper write takes a frame name and one path or glob (quote globs)');
  const [frame, input] = positionals as [string, string];
  checkFrameName(frame);
  const req: Partial<WriteRequest> & { path: string } = { path: path.resolve(input) };
  if (values.format !== undefined) req.format = choice(InputFormat.options, values.format, '--format');
  if (values.mode !== undefined) req.mode = choice(WriteMode.options, values.mode, '--mode');
  if (values['partition-by'] !== undefined) req.partitionBy = values['partition-by'];
  if (values['max-attempts'] !== undefined) {
    const n = Number(values['max-attempts']);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new UsageError('--max-attempts: a whole number from 1 to 20');
    req.maxAttempts = n;
  }
  const flags = colonyFlags(values);
  if (flags.timeoutMs !== undefined) req.timeoutMs = flags.timeoutMs;
  const session = await Session.open(flags);
  try {
    const r = await session.colony.client.writeFrame(frame, req, session.signal);
    process.stdout.write(values.json ? JSON.stringify(r) + '\n' : summary(r));
    return 0;
  } finally {
    await session.close();
  }
}

function choice<T extends string>(options: readonly T[], v: string, flag: string): T {
  if (!(options as readonly string[]).includes(v)) throw new UsageError(`${flag}: "${v}" is not one of ${options.join(', ')}`);
  return v as T;
}

function summary(r: WriteResponse): string {
  const t = r.temperature;
  return (
    `frame ${r.frame} version ${r.version}: ${r.rows_written.toLocaleString('en')} rows in ${r.cells_written} cell${r.cells_written === 1 ? '' : 's'} ` +
    `(${formatBytes(r.bytes_written)}) in ${(r.duration_ms / 1000).toFixed(2)} s; colony ${t.level} (${t.value.toFixed(2)})\n`
  );
}
