import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SqlTaskSpec } from '@apiary/protocol';
import type { CellCache } from './cell-cache.js';

/** Samples fetched at once for one probe (a probe names up to 2,000 files). */
const FETCHES_AT_ONCE = 8;

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface LocalSql {
  spec: SqlTaskSpec;
  /** After success: send the `output` file back to the queen. */
  finish(): Promise<void>;
  /** Remove the local samples and output (success or not). */
  release(): Promise<void>;
}

/**
 * A queen-made `sql` task on a hive that cannot see the queen's files, which the SQL names as
 * quoted literals: `samples` (a write's schema probe) are fetched from the running write
 * (`GET /v1/cells/write-input?path=…&sample=<format>`: a Parquet footer in a sparse file of the
 * true size, a CSV's first rows, else the whole file) into `dir`, and `output` (a plain `--into`
 * COPY) is written into `dir` and sent back afterwards. The SQL names the local files instead.
 */
export async function localSqlFiles(spec: SqlTaskSpec, dataRoot: string, cache: CellCache, dir: string): Promise<LocalSql> {
  const none = async () => undefined;
  if (!spec.samples && !spec.output) return { spec, finish: none, release: none };
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    await release();
    await mkdir(dir, { recursive: true });
    let sql = spec.sql;
    const files = spec.samples?.files ?? [];
    // The basename keeps the extension (.csv.gz): DuckDB tells compression from it.
    const locals = files.map((f, i) => path.join(dir, `${i}-${path.basename(f)}`));
    for (let next = 0; next < files.length; next += FETCHES_AT_ONCE) {
      await Promise.all(
        files.slice(next, next + FETCHES_AT_ONCE).map((f, k) => {
          const q = `path=${encodeURIComponent(f)}&sample=${spec.samples!.format}`;
          return cache.download(`write-input?${q}`, locals[next + k]!);
        }),
      );
    }
    // The queen wrote each literal itself: an exact replacement.
    files.forEach((f, i) => {
      sql = sql.split(sq(f)).join(sq(locals[i]!));
    });
    const output = spec.output;
    const local = output ? path.join(dir, `out-${path.basename(output)}`) : undefined;
    if (output && local) {
      // The COPY's target ends the SQL; the user's text before it could hold the same string.
      const at = sql.lastIndexOf(sq(output));
      if (at >= 0) sql = sql.slice(0, at) + sq(local) + sql.slice(at + sq(output).length);
    }
    const { samples: _s, output: _o, ...rest } = spec;
    return {
      spec: { ...rest, sql },
      finish: async () => {
        if (output && local) await cache.upload(local, path.relative(dataRoot, output));
      },
      release,
    };
  } catch (e) {
    await release();
    throw e;
  }
}
