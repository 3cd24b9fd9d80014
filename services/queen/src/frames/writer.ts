import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { cellSizing, type CellSizing } from '@apiary/behaviours';
import {
  ApiaryError,
  checkFrameName,
  type Column,
  type InputFormat,
  type TemperatureView,
  type WriteRequest,
  type WriteResponse,
  type WriteResult,
  type TaskValue,
  type WriteTaskSpec,
} from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { waitForHives } from '../hives/wait-for-hive.js';
import type { Scheduler } from '../tasks/scheduler.js';
import { admitWrite } from './admission.js';
import type { FrameCatalog, NewCell } from './catalog.js';
import type { DataRoot } from './data-root.js';
import { detectFormat, filesDoneCounter, isGlob, statInput, statInputs, writeShares, type InputFile } from './inputs.js';
import { describeInputs, unifySchemas } from './input-schema.js';
import { WriteSlots } from './write-slots.js';
import { runAll } from './write-tasks.js';
import { expandGlob } from './glob.js';
import { preferInPlace } from './prefer-in-place.js';
import { NO_PROGRESS, type Progress } from '../progress/progress-registry.js';

export interface FrameWriterDeps {
  scheduler: Scheduler;
  catalog: FrameCatalog;
  root: DataRoot;
  hives: () => Iterable<HiveSession>;
  temperature: () => TemperatureView;
  /** Throws (QUEEN_DRAINING) when the queen takes no new work. */
  accepting: () => void;
  minCellBytes?: number;
  cellBytes?: number;
  /** After each commit, under the frame's lock: version retention (vacuum.ts). Must not throw. */
  afterCommit?: (frame: string) => Promise<void>;
  log: Logger;
}

/** A cancelled bee may still be finishing a file when the staging dir goes: look again later. */
const LATE_SWEEP_MS = 3000;

/**
 * Frame writes and drops, one at a time per frame. A write: resolve the inputs, spread them over
 * write tasks (one per bee at most; a Parquet file may be split by row groups so every bee works,
 * inputs.ts writeShares), let the bees cut cells into a staging dir, then move the
 * cells into place and record the version in one transaction. Any failure removes the staging
 * dir and every cell already moved: a failed write leaves no version and no file.
 */
export class FrameWriter {
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Running writes, for remote hives fetching inputs and sending cells (routes-cells.ts). */
  readonly slots = new WriteSlots();

  constructor(private readonly d: FrameWriterDeps) {}

  /** `progress`: input files written of all, then the commit (GET /v1/progress/:id). */
  async write(frame: string, req: WriteRequest, signal: AbortSignal, progress: Progress = NO_PROGRESS): Promise<WriteResponse> {
    const t0 = Date.now();
    checkFrameName(frame);
    if (!path.isAbsolute(req.path)) throw new ApiaryError('BAD_REQUEST', `path must be absolute on the queen's machine: ${req.path}`);
    const format = detectFormat(req.path, req.format);
    this.d.accepting();
    await admitWrite(this.d.temperature, signal);
    const r = await this.#locked(frame, () => this.#write(frame, { ...req, format }, signal, progress));
    return { frame, ...r, duration_ms: Date.now() - t0, temperature: this.d.temperature() };
  }

  async drop(frame: string): Promise<{ frame: string; cells_deleted: number }> {
    checkFrameName(frame);
    return this.#locked(frame, async () => {
      const paths = this.d.catalog.drop(frame);
      await this.d.root.removeFrame(frame);
      return { frame, cells_deleted: paths.length };
    });
  }

  async #write(frame: string, req: WriteRequest & Required<Pick<WriteRequest, 'format'>>, signal: AbortSignal, progress: Progress) {
    const { sizing, bees } = await this.#sizing(signal);
    const files = isGlob(req.path) ? await this.#glob(req.path) : [await statInput(req.path)];
    const writeId = randomUUID();
    // Open from the schema probe on: a hive that fetches cells reads samples of the inputs for it.
    this.slots.open(
      writeId,
      frame,
      files.map((f) => f.path),
    );
    let columns: Column[] | undefined;
    try {
      columns = files.length > 1 ? await this.#oneSchema(files, req.format, signal) : undefined;
    } catch (e) {
      await this.slots.close(writeId);
      throw e;
    }
    const staging = this.d.root.stagingDir(frame, writeId);
    const moved: string[] = [];
    let ok = false;
    try {
      await mkdir(staging, { recursive: true });
      const shares = writeShares(files, bees, req.format, sizing.minBytes);
      const specs: WriteTaskSpec[] = shares.map(({ inputs, part }, i) => ({
        kind: 'write',
        inputs,
        ...(part ? { part } : {}),
        format: req.format,
        outDir: path.join(staging, `t${i}`),
        targetCellBytes: sizing.targetBytes,
        maxCellBytes: sizing.maxBytes,
        ...(req.partitionBy === undefined ? {} : { partitionBy: req.partitionBy }),
        ...(columns ? { columns } : {}),
      }));
      const limits = { ...(req.maxAttempts ? { maxAttempts: req.maxAttempts } : {}), ...(req.timeoutMs ? { timeoutMs: req.timeoutMs } : {}) };
      progress.phase('write', { total: files.length, unit: 'files' });
      const filesDone = filesDoneCounter(shares);
      const onDone = (i: number, v: TaskValue) => progress.advance(filesDone(i), v.kind === 'write' ? v.cells.length : 0);
      const results = (await runAll(this.d.scheduler, specs, limits, signal, onDone)).map((v) => {
        if (v.kind !== 'write') throw new ApiaryError('INTERNAL', `a write task returned a ${v.kind} result`);
        return v;
      });
      const schema = sameSchema(results);
      if (req.mode === 'append') this.d.catalog.checkAppend(frame, schema);
      progress.phase('commit');
      await this.d.root.ensureCellsDir(frame);
      const cells: NewCell[] = [];
      for (const [i, res] of results.entries()) {
        for (const [j, c] of res.cells.entries()) {
          if (c.file.split(/[\\/]/).includes('..')) throw new ApiaryError('INTERNAL', `a write task named a cell outside its dir: ${c.file}`);
          const rel = this.d.root.cellPath(frame, `${writeId}-${i}-${j}`);
          const staged = path.join(specs[i]!.outDir, c.file);
          this.#checkUploaded(writeId, staged, c);
          await rename(staged, this.d.root.abs(rel));
          moved.push(rel);
          cells.push({ id: `${writeId}-${i}-${j}`, path: rel, rows: c.rows, bytes: c.bytes, sha256: c.sha256, stats: c.stats });
        }
      }
      const v = this.d.catalog.commit({ frame, mode: req.mode, writeId, schema, cells });
      ok = true;
      this.d.log.info(`frame ${frame} v${v.version}: ${cells.length} cells written by ${specs.length} task(s)`, { writeId });
      await this.d.afterCommit?.(frame);
      return {
        version: v.version,
        cells_written: cells.length,
        rows_written: cells.reduce((n, c) => n + c.rows, 0),
        bytes_written: cells.reduce((n, c) => n + c.bytes, 0),
      };
    } finally {
      // No remote hive's upload may land after this: close waits for those in flight.
      await this.slots.close(writeId);
      await rm(staging, { recursive: true, force: true });
      await rmdir(path.dirname(staging)).catch(() => undefined); // only when no other write staged there
      if (!ok) {
        await Promise.all(moved.map((rel) => rm(this.d.root.abs(rel), { force: true })));
        setTimeout(() => void rm(staging, { recursive: true, force: true }).catch(() => undefined), LATE_SWEEP_MS).unref();
      }
    }
  }

  /**
   * One schema for the whole write, checked before any cell exists (a file alone needs no probe).
   * Only when the files differ do the bees get it: files that already agree are read as they are.
   */
  async #oneSchema(files: readonly InputFile[], format: InputFormat, signal: AbortSignal): Promise<Column[] | undefined> {
    const paths = files.map((f) => f.path);
    const schemas = await describeInputs(this.d.scheduler, paths, format, signal, preferInPlace(this.d.hives()));
    const unified = unifySchemas(paths, schemas);
    const same = (s: Column[]) => s.every((c, i) => c.type === unified[i]!.type);
    return schemas.every(same) ? undefined : unified;
  }

  /**
   * A cell a remote hive sent (its result names it `a<attempt>/…`, see the hive's remote-write.ts)
   * must have arrived whole: the queen's own hash of the bytes must equal the bee's sha256.
   */
  #checkUploaded(writeId: string, staged: string, c: { file: string; sha256: string; bytes: number }): void {
    if (!/^a\d+[\\/]/.test(c.file)) return; // cut in place by a bee on this machine
    const got = this.slots.verified(writeId, path.relative(this.d.root.dir, staged));
    if (!got || got.sha256 !== c.sha256 || got.bytes !== c.bytes) {
      throw new ApiaryError(
        'CELL_FETCH_FAILED',
        `cell ${c.file} of write ${writeId} did not arrive intact (queen's sha256 ${got?.sha256 ?? 'none'}, the bee's ${c.sha256})`,
      );
    }
  }

  /** Leafcutter sizing for the smallest bee connected (a cell must fit any bee that scans it). */
  async #sizing(signal: AbortSignal): Promise<{ sizing: CellSizing; bees: number }> {
    const hives = await waitForHives(this.d.hives, signal, 'write the frame');
    const perBee = Math.min(...hives.map((h) => h.resources.memoryPerBeeBytes));
    const bees = hives.reduce((n, h) => n + h.resources.bees, 0);
    const base = cellSizing(perBee, this.d.minCellBytes === undefined ? {} : { minBytes: this.d.minCellBytes });
    if (this.d.cellBytes === undefined) return { sizing: base, bees };
    const target = Math.max(this.d.cellBytes, base.minBytes);
    return { sizing: { targetBytes: target, maxBytes: 2 * target, minBytes: base.minBytes }, bees };
  }

  /** Expanded here, with DuckDB's matching (glob.ts): the files are the queen's, whichever hives fetch them. */
  async #glob(pattern: string): Promise<InputFile[]> {
    const files = await expandGlob(pattern);
    if (files.length === 0) throw new ApiaryError('INPUT_NOT_FOUND', `no file matches ${pattern}`);
    return statInputs(files);
  }

  /** Run f after every earlier write or drop of the same frame has finished. */
  #locked<T>(frame: string, f: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(frame) ?? Promise.resolve();
    const run = prev.then(f, f);
    const tail = run.catch(() => undefined);
    this.#locks.set(frame, tail);
    void tail.then(() => this.#locks.get(frame) === tail && this.#locks.delete(frame));
    return run;
  }
}

/** Every task of one write must produce the same columns, or the version would mix layouts. */
function sameSchema(results: readonly WriteResult[]): WriteResult['schema'] {
  const first = results[0]?.schema ?? [];
  for (const r of results) {
    if (JSON.stringify(r.schema) !== JSON.stringify(first)) {
      const show = (s: WriteResult['schema']) => s.map((c) => `${c.name} ${c.type}`).join(', ');
      throw new ApiaryError(
        'FRAME_SCHEMA_MISMATCH',
        `the input files do not share one schema: (${show(first)}) vs (${show(r.schema)}); write them separately or convert them first`,
      );
    }
  }
  return first;
}
