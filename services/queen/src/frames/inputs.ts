import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiaryError, type InputFormat } from '@apiary/protocol';

export interface InputFile {
  path: string;
  bytes: number;
}

const BY_EXTENSION: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.parquet': 'parquet',
  '.json': 'json',
  '.jsonl': 'json',
  '.ndjson': 'json',
};

/** The format given, else the one the path's extension names (compression suffixes ignored). */
export function detectFormat(p: string, given: InputFormat | undefined): InputFormat {
  if (given) return given;
  const base = p.replace(/\.(gz|zst)$/i, '');
  const f = BY_EXTENSION[path.extname(base).toLowerCase()];
  if (!f) throw new ApiaryError('BAD_REQUEST', `cannot tell the format of ${p} from its extension: pass --format csv|parquet|json`);
  return f;
}

/** DuckDB's glob syntax: *, ?, [...] and ** for any depth. */
export function isGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** A plain path: must exist and be a file (the queen and its local bees share this filesystem). */
export async function statInput(p: string): Promise<InputFile> {
  try {
    const st = await stat(p);
    if (st.isDirectory()) throw new ApiaryError('BAD_REQUEST', `${p} is a directory: give a file or a glob such as ${path.join(p, '*.csv')}`);
    return { path: p, bytes: st.size };
  } catch (e) {
    if (e instanceof ApiaryError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ApiaryError('INPUT_NOT_FOUND', `no such input file: ${p}`);
    throw new ApiaryError('INPUT_NOT_FOUND', `cannot read input ${p}: ${(e as Error).message}`);
  }
}

export async function statInputs(paths: readonly string[]): Promise<InputFile[]> {
  return Promise.all(paths.map((p) => statInput(p)));
}

/**
 * Spread files over at most n tasks with about equal bytes each (largest first onto the lightest
 * task); each task's files keep their sorted order so cells follow the input order per task.
 */
export function spread(files: readonly InputFile[], n: number): string[][] {
  const k = Math.max(1, Math.min(n, files.length));
  const tasks = Array.from({ length: k }, () => ({ bytes: 0, files: [] as InputFile[] }));
  for (const f of [...files].sort((a, b) => b.bytes - a.bytes)) {
    const lightest = tasks.reduce((m, t) => (t.bytes < m.bytes ? t : m));
    lightest.files.push(f);
    lightest.bytes += f.bytes;
  }
  return tasks.filter((t) => t.files.length > 0).map((t) => t.files.map((f) => f.path).sort());
}

/** One write task's share: whole files, or one run of a single Parquet file's row groups. */
export interface WriteShare {
  inputs: string[];
  part?: { index: number; of: number };
}

/**
 * The write's tasks. Whole files spread over at most n tasks (spread); but Parquet with fewer files
 * than bees splits files into parts (runs of row groups, WriteTaskSpec.part) so that every bee
 * works: n parts in all, each new one to the file with the most bytes per part, none under
 * minBytes of input (a part is at least one cell; smaller ones would only make small cells).
 */
export function writeShares(files: readonly InputFile[], n: number, format: InputFormat, minBytes: number): WriteShare[] {
  if (format !== 'parquet' || files.length >= n) return spread(files, n).map((inputs) => ({ inputs }));
  const parts = files.map(() => 1);
  const cap = files.map((f) => Math.max(1, Math.floor(f.bytes / minBytes)));
  for (let extra = n - files.length; extra > 0; extra--) {
    let best = -1;
    files.forEach((f, i) => {
      if (parts[i]! < cap[i]! && (best < 0 || f.bytes / parts[i]! > files[best]!.bytes / parts[best]!)) best = i;
    });
    if (best < 0) break;
    parts[best]!++;
  }
  return files.flatMap((f, i) => {
    const of = parts[i]!;
    if (of === 1) return [{ inputs: [f.path] }];
    return Array.from({ length: of }, (_, index) => ({ inputs: [f.path], part: { index, of } }));
  });
}

/** Input files finished when share i ends, for progress: a split file counts once, with its last part. */
export function filesDoneCounter(shares: readonly WriteShare[]): (i: number) => number {
  const left = new Map<string, number>();
  for (const s of shares) if (s.part) left.set(s.inputs[0]!, s.part.of);
  return (i) => {
    const s = shares[i]!;
    if (!s.part) return s.inputs.length;
    const n = left.get(s.inputs[0]!)! - 1;
    left.set(s.inputs[0]!, n);
    return n === 0 ? 1 : 0;
  };
}
