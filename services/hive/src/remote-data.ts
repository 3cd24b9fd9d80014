import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FrameSqlTaskSpec, SqlTaskSpec, TaskValue } from '@apiary/protocol';
import type { CellCache } from './cell-cache.js';
import type { Job } from './chamber.js';
import { localSqlFiles, type LocalSql } from './remote-sql.js';
import { SpoolSender } from './spool-sender.js';

/**
 * What the queen's `registered` says about its data root: the path and a probe file with known
 * content (not the queen's DataRoot class, which owns the directory; this is only its address).
 */
export interface DataRootProbe {
  root: string;
  probe: string;
  probeContent: string;
}

/** Whether this hive sees the queen's data root (same machine, or a shared filesystem). */
export function seesDataRoot(d: DataRootProbe): boolean {
  try {
    return readFileSync(d.probe, 'utf8') === d.probeContent;
  } catch {
    return false;
  }
}

export function httpBase(queenWs: string): string {
  const u = new URL(queenWs);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

/** A frame-SQL job rewritten for a hive that fetches its cells, and what to do when it ends. */
export interface RemoteJob {
  job: Job;
  /** After success: send the output the queen asked for (a partial, a write's cells) back to it; the value to report. */
  finish(value: TaskValue): Promise<TaskValue>;
  /** Unpin the cells and drop local outputs (success or not). */
  release(): Promise<void>;
}

/**
 * Replace the queen's paths with local ones: cells (and merge inputs) from the cache, fetched and
 * verified as needed; `into` written locally and sent back to the queen's path afterwards; a
 * streamed result (`stream`) written locally and sent to the queen's path while it is written.
 */
export async function prepareRemote(job: Job, data: DataRootProbe, cache: CellCache, outDir: string): Promise<RemoteJob> {
  const rel = (p: string) => path.relative(data.root, p);
  let spool: { sender: SpoolSender; sent: Promise<void> } | undefined;
  const release = async () => {
    for (const r of pinned) cache.unpin(r);
    if (out) await rm(out, { force: true });
    await sqlFiles?.release();
    if (spool) {
      spool.sender.abort(); // no-op once the body has ended
      await spool.sent.catch(() => undefined);
      await rm(spool.sender.file, { force: true });
    }
  };
  const pinned: string[] = [];
  let out: string | undefined;
  let sqlFiles: LocalSql | undefined;
  try {
    const stream = (job.spec as SqlTaskSpec | FrameSqlTaskSpec).stream;
    if (stream) {
      await mkdir(outDir, { recursive: true });
      const sender = await SpoolSender.create(path.join(outDir, `${job.taskId}-${job.attempt}.ndjson`));
      const sent = cache.streamUp(sender.body, rel(stream));
      sent.catch(() => undefined); // awaited by finish (success) or release (failure)
      spool = { sender, sent };
    }
    const finishSpool = async (value: TaskValue) => {
      if (!spool) return value;
      spool.sender.end();
      await spool.sent;
      return value;
    };
    if (job.spec.kind === 'sql') {
      // Plain SQL: a streamed result, a probe's input samples and a plain --into file have queen's paths.
      const files = await localSqlFiles(job.spec, data.root, cache, path.join(outDir, `${job.taskId}-${job.attempt}.d`));
      sqlFiles = files;
      const finish = async (value: TaskValue) => {
        await files.finish();
        return finishSpool(value);
      };
      return { job: { ...job, spec: { ...files.spec, stream: spool?.sender.file } }, finish, release };
    }
    const spec = job.spec as FrameSqlTaskSpec;
    const views: Record<string, string[]> = {};
    for (const [name, files] of Object.entries(spec.views)) {
      views[name] = await Promise.all(
        files.map(async (f) => {
          const r = rel(f);
          const local = await cache.acquire(r, spec.cells?.[f]?.sha256);
          pinned.push(r);
          return local;
        }),
      );
    }
    if (spec.into) {
      await mkdir(outDir, { recursive: true });
      out = path.join(outDir, `${job.taskId}-${job.attempt}.parquet`);
    }
    const local: FrameSqlTaskSpec = { ...spec, views, allowDirs: [cache.dir, outDir], into: out, cells: undefined, stream: spool?.sender.file };
    return {
      job: { ...job, spec: local },
      finish: async (value) => {
        // A map step whose partial came back inline (its value has columns) wrote no file to send.
        const inline = spec.inlineMax && value.kind === 'sql' && value.columns.length > 0;
        if (out && spec.into && !inline) await cache.upload(out, rel(spec.into));
        return finishSpool(value);
      },
      release,
    };
  } catch (e) {
    await release();
    throw e;
  }
}
