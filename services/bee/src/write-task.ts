import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiaryError, type CellWritten, type Column, type WriteResult, type WriteTaskSpec } from '@apiary/protocol';
import { describeCell, sha256File } from './cell-stats.js';
import { copiedFiles, statsFromCopy, type CopiedFile } from './copy-stats.js';
import type { Duck } from './duck.js';
import { outOfRange, sourceOf, storedColumns } from './write-source.js';
import { ident, lit, litList } from './sql-text.js';

/** Rows read to estimate Parquet bytes per row (a LIMIT: DuckDB stops reading early). */
const SAMPLE_ROWS = 16_384;
/** DuckDB's vector size and default row-group size bound the row-group rows we ask for. */
const VECTOR = 2048;
const DEFAULT_ROW_GROUP = 122_880;
/** How much wider than in its input file a row may get when DuckDB re-encodes it (rowGroupRows). */
const SAFETY = 4;

export interface WriteContext {
  signal: AbortSignal;
  scratchDir: string;
}

/**
 * A bee's share of a frame write: read the inputs once and write Parquet cells of about the target
 * size into outDir, then describe each cell (rows, bytes, sha256, per-column stats). The queen
 * moves the cells into place and records the version; the bee never touches the catalog.
 */
export async function runWrite(duck: Duck, spec: WriteTaskSpec, ctx: WriteContext): Promise<WriteResult> {
  // A retry (after a crash) must not find the previous attempt's files.
  await rm(spec.outDir, { recursive: true, force: true });
  await mkdir(path.dirname(spec.outDir), { recursive: true });
  const read = await sourceOf(duck, spec, ctx.signal);
  const described = await duck.query(`DESCRIBE SELECT * FROM ${read}`, ctx.signal);
  const { src, schema } = storedColumns(
    read,
    described.rows.map((r): Column => ({ name: String(r.column_name), type: String(r.column_type) })),
  );
  try {
    return await writeCells(duck, spec, ctx, src, schema);
  } catch (e) {
    throw outOfRange(e);
  }
}

async function writeCells(duck: Duck, spec: WriteTaskSpec, ctx: WriteContext, src: string, schema: Column[]): Promise<WriteResult> {
  if (spec.partitionBy !== undefined && !schema.some((c) => c.name === spec.partitionBy)) {
    throw new ApiaryError('FRAME_SCHEMA_MISMATCH', `--partition-by ${spec.partitionBy}: no such column (columns: ${schema.map((c) => c.name).join(', ')})`);
  }
  const rowGroup = await rowGroupRows(duck, spec, src, ctx);
  const out = lit(spec.outDir);
  // The writer's own per-file statistics (copy-stats.ts): no second read of each cell for them.
  const copied = new Map<string, CopiedFile>();
  const copy = async (sql: string) => {
    for (const [f, c] of copiedFiles((await duck.query(sql, ctx.signal)).rows)) copied.set(f, c);
  };
  if (spec.partitionBy === undefined) {
    await copy(`COPY (SELECT * FROM ${src}) TO ${out} (FORMAT parquet, FILE_SIZE_BYTES ${spec.targetCellBytes}, ROW_GROUP_SIZE ${rowGroup}, RETURN_STATS)`);
  } else {
    // DuckDB cannot rotate files while partitioning: partition first, then re-cut oversized files.
    const col = ident(spec.partitionBy);
    await copy(
      `COPY (SELECT * FROM ${src}) TO ${out} (FORMAT parquet, PARTITION_BY (${col}), WRITE_PARTITION_COLUMNS true, ROW_GROUP_SIZE ${rowGroup}, RETURN_STATS)`,
    );
    for (const f of await parquetFiles(spec.outDir)) {
      const abs = path.join(spec.outDir, f);
      if ((await stat(abs)).size <= spec.maxCellBytes) continue;
      const dir = abs.replace(/\.parquet$/, '.split');
      await copy(
        `COPY (SELECT * FROM read_parquet(${lit(abs)})) TO ${lit(dir)} (FORMAT parquet, FILE_SIZE_BYTES ${spec.targetCellBytes}, ROW_GROUP_SIZE ${rowGroup}, RETURN_STATS)`,
      );
      await rm(abs);
    }
  }
  const cells: CellWritten[] = [];
  const files = await parquetFiles(spec.outDir);
  // Hash the cells one after another on this thread while DuckDB works out their stats on its own.
  const hashes: Promise<string>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  for (const f of files) {
    const h = chain.then(() => sha256File(path.join(spec.outDir, f)));
    h.catch(() => undefined); // awaited below; a failure there must not also be an unhandled rejection
    hashes.push(h);
    chain = h.catch(() => undefined);
  }
  for (const [i, f] of files.entries()) {
    const abs = path.join(spec.outDir, f);
    const c = copied.get(abs);
    const cell = c ? await fromCopy(duck, abs, f, schema, c, ctx.signal, hashes[i]!) : await describeCell(duck, abs, f, schema, ctx.signal, hashes[i]);
    // An empty input still yields one empty file: the catalog has no use for it.
    if (cell.rows === 0) await rm(abs);
    else cells.push(cell);
  }
  return { kind: 'write', schema, cells };
}

/** A cell the COPY reported on: its stats from the writer's numbers, its bytes and sha256 from the file. */
async function fromCopy(duck: Duck, abs: string, file: string, schema: readonly Column[], c: CopiedFile, signal: AbortSignal, sha256: Promise<string>) {
  const [s, st, sha] = await Promise.all([statsFromCopy(duck, abs, schema, c, signal), stat(abs), sha256]);
  return { file, rows: s.rows, bytes: st.size, sha256: sha, stats: s.stats };
}

/**
 * Rows per row group so that a group is about a quarter of a cell: DuckDB rotates files only
 * between row groups, so this keeps cells near the target even when the target is small.
 */
async function rowGroupRows(duck: Duck, spec: WriteTaskSpec, src: string, ctx: WriteContext): Promise<number> {
  const targetBytes = spec.targetCellBytes;
  // Parquet input: its footers give bytes per row for free. Only when even a row SAFETY times
  // that wide would fill a full default group is the sample skipped (re-encoding may grow rows).
  if (spec.format === 'parquet' && (await parquetBytesPerRow(duck, spec.inputs, ctx)) * SAFETY * DEFAULT_ROW_GROUP <= targetBytes / 4) return DEFAULT_ROW_GROUP;
  const sample = path.join(ctx.scratchDir, `write-sample-${process.pid}.parquet`);
  try {
    const r = await duck.query(`COPY (SELECT * FROM ${src} LIMIT ${SAMPLE_ROWS}) TO ${lit(sample)} (FORMAT parquet)`, ctx.signal);
    const rows = Number(r.rows[0]?.Count ?? 0);
    if (rows === 0) return DEFAULT_ROW_GROUP;
    const perRow = Math.max(1, (await stat(sample)).size / rows);
    const groups = Math.floor(targetBytes / 4 / perRow / VECTOR) * VECTOR;
    return Math.min(DEFAULT_ROW_GROUP, Math.max(VECTOR, groups));
  } finally {
    await rm(sample, { force: true });
  }
}

/** Input bytes per row of Parquet files from their footers (Infinity when there are no rows). */
async function parquetBytesPerRow(duck: Duck, inputs: readonly string[], ctx: WriteContext): Promise<number> {
  const r = await duck.query(`SELECT sum(num_rows) AS n FROM parquet_file_metadata(${litList(inputs)})`, ctx.signal);
  const rows = Number(r.rows[0]?.n ?? 0);
  if (!(rows > 0)) return Infinity;
  const bytes = (await Promise.all(inputs.map((f) => stat(f)))).reduce((n, st) => n + st.size, 0);
  return bytes / rows;
}

/** Every .parquet file under dir (relative paths), in natural order: data_2 before data_10. */
async function parquetFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })) as string[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries.filter((f) => f.endsWith('.parquet')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}
