import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TaskValue, WriteTaskSpec } from '@apiary/protocol';
import type { CellCache } from './cell-cache.js';
import type { Job } from './chamber.js';
import type { DataRootProbe } from './remote-data.js';

/** `<cache-dir>/writes`: a remote write's inputs and cells while its task runs; emptied at start. */
export function writesDir(cacheDir: string): string {
  return path.join(cacheDir, 'writes');
}

/**
 * A write task on a hive that cannot see the queen's data root: fetch the inputs from the queen
 * (only a running write's own files are served), let the bee cut cells into a local dir, then send
 * each cell to the queen's staging dir with its sha256 (the queen hashes what arrives and keeps only
 * a match). The result names the cells `a<attempt>/<file>` under the task's outDir, the directory
 * the upload went to, so a late upload of an earlier attempt can never be taken for this one's.
 * The version still commits only in the queen, all cells or none.
 */
export async function prepareRemoteWrite(job: Job, data: DataRootProbe, cache: CellCache, cacheDir: string) {
  const spec = job.spec as WriteTaskSpec;
  const dir = path.join(writesDir(cacheDir), `${job.taskId}-${job.attempt}`);
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    await release();
    await mkdir(path.join(dir, 'in'), { recursive: true });
    // The basename keeps the extension (.csv.gz): DuckDB tells compression from it.
    const inputs = spec.inputs.map((f, i) => path.join(dir, 'in', `${i}-${path.basename(f)}`));
    await Promise.all(spec.inputs.map((f, i) => cache.download(`write-input?path=${encodeURIComponent(f)}`, inputs[i]!)));
    const outDir = path.join(dir, 'out');
    const staged = path.relative(data.root, spec.outDir);
    const local: WriteTaskSpec = { ...spec, inputs, outDir };
    return {
      job: { ...job, spec: local },
      /** Send every cell, then report them where they now are on the queen's side. */
      finish: async (value: TaskValue): Promise<TaskValue> => {
        if (value.kind !== 'write') return value;
        const cells = [];
        for (const c of value.cells) {
          const file = `a${job.attempt}/${c.file.split(path.sep).join('/')}`;
          await cache.upload(path.join(outDir, c.file), `${staged}/${file}`, c.sha256);
          cells.push({ ...c, file });
        }
        return { ...value, cells };
      },
      release,
    };
  } catch (e) {
    await release();
    throw e;
  }
}
