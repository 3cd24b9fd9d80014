import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { codeOnly, withoutTrailingSemicolon, type RenderedPlan } from '@apiary/planner';
import { ApiaryError, MAX_RESULT_ROWS, type SqlResponse, type SqlResult, type TaskLimits, type TaskSpec, type TaskValue } from '@apiary/protocol';
import type { FrameCatalog, Snapshot } from '../frames/catalog.js';
import type { FrameWriter } from '../frames/writer.js';
import type { HiveRegistry } from '../hives/hive-registry.js';
import { waitForHives } from '../hives/wait-for-hive.js';
import type { SubmitOptions } from '../tasks/new-task.js';
import type { Scheduler } from '../tasks/scheduler.js';
import { preferInPlace } from '../frames/prefer-in-place.js';
import { storedSpec } from '../tasks/stored-spec.js';
import { TERMINAL_STATES } from '@apiary/protocol';
import { UploadSlots } from './upload-slots.js';
import { PlanCache } from './plan-cache.js';
import { checksumsOf, FrameReads } from './frame-reads.js';
import { partialChecksums } from './partial-checksums.js';
import { cameInline, inlineMaxFor, splitPartials } from './inline-partials.js';
import { NO_PROGRESS, type Progress } from '../progress/progress-registry.js';

/** Rows a query may return through the API (JSON in memory on the queen); the bee checks it first. */
export { MAX_RESULT_ROWS } from '@apiary/protocol';

/**
 * SQL that names frames: a bee plans it (prune, split, map/merge or whole), bees run the pieces,
 * one bee merges. SQL that names no frame runs as it is, on one bee.
 */
export class QueryRunner {
  /** The step outputs remote hives may send back now (PUT /v1/cells/queries/…). */
  readonly uploads = new UploadSlots();
  /** Plans by SQL text and catalog: a repeated query skips its plan task. */
  readonly plans = new PlanCache();
  readonly #reads: FrameReads;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly catalog: FrameCatalog,
    private readonly registry: HiveRegistry,
    private readonly dataRoot: string,
    private readonly writer: FrameWriter,
  ) {
    this.#reads = new FrameReads(dataRoot);
  }

  /**
   * With `into`, the last step writes Parquet under the data root instead of returning rows, and
   * that file goes through the frame write path (leafcutter cells, statistics, one version).
   */
  async run(sql: string, opts: QueryOptions): Promise<SqlResponse> {
    if (!opts.into || opts.explain) return this.#run(sql, opts, undefined);
    const dir = path.join(this.dataRoot, 'queries', randomUUID());
    await mkdir(dir, { recursive: true });
    try {
      const file = path.join(dir, 'result.parquet');
      const r = await this.#run(sql, opts, file);
      const written = await this.writer.write(opts.into, { path: file, format: 'parquet', mode: opts.intoMode ?? 'overwrite' }, opts.signal, opts.progress);
      return { ...r, written };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #run(sql: string, opts: QueryOptions, into: string | undefined): Promise<SqlResponse> {
    const tasks: string[] = [];
    // One signal for the whole query: the client going away or any step failing cancels every task still out.
    const ac = new AbortController();
    const onClientGone = () => ac.abort();
    opts.signal.addEventListener('abort', onClientGone, { once: true });
    const exec = async (spec: TaskSpec, submit: SubmitOptions = {}): Promise<TaskValue> => {
      if (ac.signal.aborted) throw new ApiaryError('TASK_CANCELLED', 'the query was cancelled');
      // A streamed result: the step that yields rows (sql/fsql without `into`) writes them to the spool file, on the queen's disk
      // (a hive that fetches cells writes it locally and sends it by PUT as it grows, any hive can run it).
      // One attempt only: a retry would rewrite a file whose first rows the client already has.
      let limits = opts.limits;
      if (opts.spool && (spec.kind === 'sql' || (spec.kind === 'fsql' && !spec.into))) {
        spec = { ...spec, stream: opts.spool };
        limits = { ...limits, maxAttempts: 1 };
      }
      const rec = this.scheduler.submit(spec, limits, submit);
      tasks.push(rec.id);
      // A hive that fetches cells sends this step's output (its `into`, or its streamed rows) back by PUT: accepted only while the step is out.
      const output = spec.kind === 'fsql' ? (spec.into ?? spec.stream) : spec.kind === 'sql' ? (spec.output ?? spec.stream) : undefined;
      const slot = output ? path.relative(this.dataRoot, output) : null;
      if (slot) this.uploads.open(slot, rec.id);
      const onAbort = () => this.scheduler.cancel(rec.id, 'the query was cancelled');
      ac.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const done = await this.scheduler.wait(rec.id, 86_400_000);
        // A finished plan task keeps only its frame references, in memory as in the ledger (stored-spec.ts).
        if (TERMINAL_STATES.has(done.state)) done.spec = storedSpec(done.spec);
        if (done.state !== 'succeeded' || !done.value) {
          ac.abort();
          throw ApiaryError.fromWire(done.error ?? { code: 'INTERNAL', message: `task ended ${done.state}` });
        }
        return done.value;
      } finally {
        if (slot) this.uploads.close(slot, rec.id);
        ac.signal.removeEventListener('abort', onAbort);
      }
    };
    try {
      return await this.#steps(sql, opts, into, exec, tasks);
    } finally {
      opts.signal.removeEventListener('abort', onClientGone);
    }
  }

  async #steps(sql: string, opts: QueryOptions, into: string | undefined, exec: Exec, tasks: string[]): Promise<SqlResponse> {
    const progress = opts.progress ?? NO_PROGRESS;
    const plainSql = async (): Promise<SqlResponse> => {
      if (opts.explain) return { columns: [], rows: [], explain: 'plan: plain SQL on one bee (it reads no frame)', tasks, written: null };
      if (opts.sandboxOnly) {
        throw new ApiaryError('FORBIDDEN', 'plain SQL (it reads no frame) runs outside the sandbox: it needs scope submit', { need: 'submit' });
      }
      await this.#hivesUp(opts.signal);
      // A plain query writing into the data root: in place where a hive can, else a fetching hive writes `output` locally and sends it back.
      const plain = into ? `COPY (${asSubquery(sql)}) TO '${into.replace(/'/g, "''")}' (FORMAT parquet)` : sql;
      progress.phase('merge');
      const v = await exec({ kind: 'sql', sql: plain, ...(into ? { output: into } : {}) }, into ? preferInPlace(this.registry.sessions()) : {});
      return { ...toRows(v, into), explain: null, tasks, written: null };
    };
    const named = this.#framesNamed(sql);
    if (named.length === 0) return plainSql();
    await this.#hivesUp(opts.signal);
    // The versions this query reads, resolved once and pinned until it ends: vacuum leaves their cells alone.
    const snaps = named.map((name) => ({ name, snap: this.catalog.snapshot(name) }));
    const releases = snaps.map((f) => this.catalog.pins.pin(f.name, f.snap.version));
    try {
      return await this.#framed(sql, opts, into, exec, tasks, snaps, plainSql);
    } finally {
      for (const release of releases) release();
    }
  }

  async #framed(
    sql: string,
    opts: QueryOptions,
    into: string | undefined,
    exec: Exec,
    tasks: string[],
    snaps: NamedSnapshot[],
    plainSql: () => Promise<SqlResponse>,
  ): Promise<SqlResponse> {
    const { bees, memoryPerBee } = this.#capacity();
    const reads = snaps.map((f) => this.#reads.of(f.name, f.snap));
    const catalog = reads.map((r) => r.info);
    const frames = snaps.map((f) => ({ frame: f.name, version: f.snap.version }));
    const targetBytesPerGroup = Math.max(1, Math.floor(memoryPerBee / 4));
    // explain always plans on a bee (its answer names the plan task); a query may reuse the plan.
    const planKey = PlanCache.key({ sql, frames: reads.map((r) => r.key), bees, targetBytesPerGroup });
    let planned = opts.explain ? undefined : this.plans.get(planKey);
    const progress = opts.progress ?? NO_PROGRESS;
    if (!planned) {
      progress.phase('plan');
      const v = await exec({ kind: 'plan', sql, catalog: [...catalog], frames, bees, targetBytesPerGroup });
      if (v.kind !== 'plan') throw new ApiaryError('INTERNAL', 'the planner returned no plan');
      planned = { plan: v.plan as RenderedPlan, explain: v.explain };
      this.plans.set(planKey, planned);
    }
    const plan = planned.plan;
    if (opts.explain) return { columns: [], rows: [], explain: planned.explain, tasks, written: null };
    const allowDirs = [this.dataRoot];
    const columns = Object.fromEntries(catalog.map((f) => [f.name, [...(f.columns ?? [])]]));
    // The name only appeared in the text (a string, a file name): the query reads no frame after all.
    if (plan.kind === 'whole' && plan.frames.length === 0) return plainSql();
    // One group needs no merge: the query itself over that group's cells is plain DuckDB's answer.
    if (plan.kind === 'whole' || plan.groups.length === 1) {
      const frames = plan.kind === 'whole' ? plan.frames : [plan.frame];
      const views = Object.fromEntries(frames.map((f) => [f.frame, f.cells.map((c) => c.path)]));
      const text = plan.kind === 'whole' ? plan.sql : sql;
      // One step reads every cell: the cells count as done when it ends.
      const n = frames.reduce((k, f) => k + f.cells.length, 0);
      progress.phase('map', { total: n, unit: 'cells' });
      const v = await exec({ kind: 'fsql', sql: text, views, allowDirs, into, columns, cells: checksumsOf(views, reads) });
      progress.advance(n, n);
      return {
        ...toRows(v, into),
        explain: planned.explain,
        tasks,
        written: null,
      };
    }
    const dir = path.join(this.dataRoot, 'queries', randomUUID());
    // A plan whose partials all came back inline last time reads them so again (same cells, same
    // rows): its maps write no file, so no directory is made on the query's path before its first
    // task. Should one be big after all, whoever writes it makes the directory (map-partial.ts, routes-cells.ts).
    const inlineBefore = planned.inline?.length === plan.groups.length && planned.inline.every(Boolean);
    if (!inlineBefore) await mkdir(dir, { recursive: true });
    try {
      const partials = plan.groups.map((g) => path.join(dir, `partial-${g.index}.parquet`));
      progress.phase('map', { total: plan.groups.reduce((k, g) => k + g.cells.length, 0), unit: 'cells' });
      // A small partial comes back in the map's result (no file, no checksum, no fetch); a big one is a file.
      const outputs = await Promise.all(
        plan.groups.map(async (g, i) => {
          const inlineMax = inlineMaxFor(plan, planned.inline, i);
          const views = { [plan.frame.frame]: g.cells.map((c) => c.path) };
          const v = await exec({ kind: 'fsql', sql: plan.mapSql, views, allowDirs, into: partials[i], columns, cells: checksumsOf(views, reads), inlineMax });
          progress.advance(g.cells.length, g.cells.length);
          return v;
        }),
      );
      planned.inline = cameInline(outputs);
      const split = splitPartials(outputs, partials);
      const sums = await partialChecksums(split.files);
      progress.phase('merge');
      const inline = split.inline ? { inline: { [plan.partialsTable]: split.inline } } : {};
      const merged = await exec({ kind: 'fsql', sql: plan.mergeSql, views: { [plan.partialsTable]: split.files }, allowDirs, into, cells: sums, ...inline });
      return { ...toRows(merged, into), explain: planned.explain, tasks, written: null };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Frames the code (not its strings or comments) names as a word, case-insensitively: a cheap test
   * before asking a bee to parse it. Frame names are words ([a-z0-9_]), so this is a set lookup per
   * word of the code rather than a regular expression per frame.
   */
  #framesNamed(sql: string): string[] {
    const names = this.catalog.names();
    if (names.length === 0) return [];
    const words = new Set<string>();
    for (const w of codeOnly(sql).match(/[A-Za-z0-9_]+/g) ?? []) words.add(w.toLowerCase());
    return names.filter((n) => words.has(n));
  }

  /** Wait (bounded) for a hive: the request holds until its tasks end, so with none it would hang. */
  async #hivesUp(signal: AbortSignal): Promise<void> {
    await waitForHives(() => this.registry.sessions(), signal, 'run the query');
  }

  #capacity(): { bees: number; memoryPerBee: number } {
    let bees = 0;
    let memoryPerBee = Infinity;
    for (const s of this.registry.sessions()) {
      bees += s.resources.bees;
      memoryPerBee = Math.min(memoryPerBee, s.resources.memoryPerBeeBytes);
    }
    if (bees === 0) throw new ApiaryError('NO_HIVES', 'no hive is connected to run the query');
    return { bees, memoryPerBee };
  }
}

/** Submit one step and wait for its value (placement options for steps over the queen's files). */
type Exec = (spec: TaskSpec, submit?: SubmitOptions) => Promise<TaskValue>;

/** A frame's version as a query reads it (pinned while the query runs). */
type NamedSnapshot = { name: string; snap: Snapshot };

export interface QueryOptions {
  explain: boolean;
  limits: TaskLimits;
  signal: AbortSignal;
  into?: string;
  intoMode?: 'append' | 'overwrite';
  /** A read-scope caller: only SQL over frames, in the bees' sandbox; plain SQL (any file, any COPY) is FORBIDDEN. */
  sandboxOnly?: boolean;
  /** Stream the result: the rows go to this file under the data root as NDJSON (result-stream.ts tails it), none into the answer. */
  spool?: string;
  /** Where the query reports its steps (GET /v1/progress/:id); none when absent. */
  progress?: Progress;
}

/** SQL text safe to wrap in COPY ( … ): no trailing semicolon or comment. */
function asSubquery(sql: string): string {
  return withoutTrailingSemicolon(sql);
}

function toRows(v: TaskValue, into?: string): Pick<SqlResponse, 'columns' | 'rows'> {
  if (v.kind !== 'sql') throw new ApiaryError('INTERNAL', `expected rows, got a ${v.kind} result`);
  const r = v as SqlResult;
  if (into) return { columns: [], rows: [] };
  if (r.rows.length > MAX_RESULT_ROWS) {
    throw new ApiaryError(
      'RESULT_TOO_LARGE',
      `the result has ${r.rows.length} rows, over ${MAX_RESULT_ROWS}: add a LIMIT, aggregate further, or write it to a frame with --into FRAME`,
    );
  }
  return { columns: r.columns, rows: r.rows };
}
