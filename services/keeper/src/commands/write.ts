import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '@apiary/config';
import { ApiaryError, checkFrameName, InputFormat, WriteMode, type WriteRequest, type WriteResponse } from '@apiary/protocol';
import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { Session } from '../session.js';
import { ProgressLine, wantProgress } from '../progress-line.js';

export const WRITE_USAGE = `keeper write FRAME PATH|GLOB [--format csv|parquet|json] [--mode append|overwrite] [--partition-by COL] [--upload]
    [--max-attempts N] [--json] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Write files (csv, parquet or json; a path or a glob, relative to the current directory) as the
  next version of FRAME: Parquet cells of leafcutter size, written by bees, recorded atomically.
  On a terminal a progress line (input files written of all, cells) shows on stderr while it runs.
  --timeout bounds each write task. Without a running queen the frame lives only for this command.
  --upload sends the file's bytes to the queen (automatic when the queen is on another machine).`;

function uploadable(p: string): string {
  if (/[*?[]/.test(p)) throw new UsageError('--upload sends one file: give a path, not a glob');
  if (!existsSync(p)) throw new ApiaryError('INPUT_NOT_FOUND', `no file ${p}`);
  return p;
}

function formatOf(p: string): 'csv' | 'parquet' | 'json' {
  if (/\.(csv|tsv)$/i.test(p)) return 'csv';
  if (/\.parquet$/i.test(p)) return 'parquet';
  if (/\.(json|jsonl|ndjson)$/i.test(p)) return 'json';
  throw new UsageError(`cannot tell the format of ${p} from its name: pass --format csv|parquet|json`);
}

export async function writeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    format: { type: 'string', short: 'f' },
    mode: { type: 'string' },
    'partition-by': { type: 'string' },
    'max-attempts': { type: 'string' },
    json: { type: 'boolean' },
    upload: { type: 'boolean' },
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
    // A queen on another machine cannot read our paths: send the file itself.
    const client = session.colony.client;
    const remote = !/^https?:\/\/(127\.|localhost|\[::1\])/.test(client.url);
    const line = wantProgress(values.json ?? false) ? new ProgressLine(client, `write ${frame}`) : null;
    let r: WriteResponse;
    try {
      r =
        values.upload || remote
          ? await client.uploadFrame(
              frame,
              uploadable(req.path),
              {
                format: req.format ?? formatOf(req.path),
                mode: req.mode,
                partitionBy: req.partitionBy,
                maxAttempts: req.maxAttempts,
                timeoutMs: req.timeoutMs,
              },
              session.signal,
              line?.requestId,
            )
          : await client.writeFrame(frame, req, session.signal, line?.requestId);
    } finally {
      line?.stop();
    }
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
