import { rmSync } from 'node:fs';
import path from 'node:path';
import type { HiveConfig } from '@apiary/config';
import { toWireError, type WireError } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import { CellCache } from './cell-cache.js';
import type { Job, Outcome } from './chamber.js';
import { httpBase, prepareRemote, seesDataRoot, type DataRootProbe, type RemoteJob } from './remote-data.js';
import { prepareRemoteWrite, writesDir } from './remote-write.js';

/**
 * The hive's side of the queen's data root. A hive that cannot see it fetches the cells a task
 * names into its cache (see CellCache) and sends partials back (remote-data.ts, remote-write.ts);
 * one that can reads them in place.
 */
export class HiveData {
  #data: DataRootProbe | undefined;
  #cells: CellCache | null = null;
  readonly #remoteJobs = new Map<string, RemoteJob>();

  constructor(
    private readonly cfg: HiveConfig,
    private readonly log: Logger,
    /** A job ready for the bees (a remote one once its cells are here). */
    private readonly submit: (job: Job) => void,
    /** A job that fails before any bee takes it: its cells unreachable. */
    private readonly fail: (job: Job, error: WireError) => void,
  ) {}

  /** The queen's data root as the welcome gave it (task paths are checked against it). */
  get root(): string | undefined {
    return this.#data?.root;
  }

  /** The welcome's data root probe: decides whether cells are read in place or fetched. */
  use(data: DataRootProbe | undefined): void {
    if (!data) return;
    this.#data = data;
    const remote = this.cfg.fetchCells === 'always' || (this.cfg.fetchCells === 'auto' && !seesDataRoot(data));
    if (!remote || this.#cells) return;
    const cache = new CellCache(
      path.join(this.cfg.cacheDir, 'cells'),
      this.cfg.cellCacheBytes,
      httpBase(this.cfg.queenUrl),
      this.cfg.joinToken,
      this.cfg.queenFingerprint,
    );
    this.#cells = cache;
    void cache.load().catch((e) => this.log.warn(`cell cache: ${(e as Error).message}`));
    // What a remote write of an earlier, killed run of this hive left (nothing runs yet in this one).
    // Synchronous, so it is done before the first task is assigned.
    rmSync(writesDir(this.cfg.cacheDir), { recursive: true, force: true });
    this.log.info("reading cells over HTTP (the queen's data root is not visible here)", { cache: cache.dir });
  }

  /** Submit `job` to the bees, through the cell cache when it reads cells that are not visible here. */
  route(job: Job): void {
    // A streamed plain-SQL result goes to the queen over HTTP too (remote-data.ts); other plain SQL needs no data root.
    const remoteKind = job.spec.kind === 'fsql' || job.spec.kind === 'write' || (job.spec.kind === 'sql' && job.spec.stream !== undefined);
    if (this.#cells && this.#data && remoteKind) void this.#submitRemote(job, this.#data, this.#cells);
    else this.submit(job);
  }

  async #submitRemote(job: Job, data: DataRootProbe, cache: CellCache): Promise<void> {
    try {
      const r =
        job.spec.kind === 'write'
          ? await prepareRemoteWrite(job, data, cache, this.cfg.cacheDir)
          : await prepareRemote(job, data, cache, path.join(this.cfg.cacheDir, 'outputs'));
      this.#remoteJobs.set(job.taskId, r);
      this.submit(r.job);
    } catch (e) {
      this.fail(job, toWireError(e, 'CELL_FETCH_FAILED'));
    }
  }

  /** A remote job's outcome once its remote part is done (partials sent, cells released); null: not a remote job. */
  finish(job: Job, o: Outcome): Promise<Outcome> | null {
    const remote = this.#remoteJobs.get(job.taskId);
    if (!remote) return null;
    this.#remoteJobs.delete(job.taskId);
    return (async () => {
      let outcome = o;
      if (o.ok)
        outcome = await remote.finish(o.value).then(
          (value): Outcome => ({ ok: true, value }),
          (e): Outcome => ({ ok: false, error: toWireError(e, 'CELL_FETCH_FAILED') }),
        );
      await remote.release();
      return outcome;
    })();
  }

  /** The heartbeat's data part: the frames cells cached here, or whether the data root is read in place. */
  beat(): { cachedCells: string[] } | { dataInPlace: boolean } {
    return this.#cells ? { cachedCells: this.#cells.held().filter((r) => r.startsWith('frames/')) } : { dataInPlace: this.#data !== undefined };
  }
}
