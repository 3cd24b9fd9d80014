import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { FrameDetail, TaskView } from '@apiary/protocol';
import { duckCopy } from './helpers/duck-copy.js';
import { useFramesDaemon } from './helpers/frames-daemon.js';
import { waitFor } from './helpers/procs.js';

/*
 * One large Parquet file written by every bee (issue 11): with fewer files than bees the queen
 * splits a file by row groups (WriteTaskSpec.part), each bee writes its run, and the version holds
 * every row exactly once, also when a part's bee dies and the part is retried.
 */

/** Row count and an order-independent hash of every row, read in this test process's own DuckDB. */
async function digest(from: string): Promise<{ n: string; h: string }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(`SELECT count(*)::VARCHAR AS n, sum(hash(id, g, s)::HUGEINT)::VARCHAR AS h FROM ${from}`);
    return r.getRowObjectsJson()[0] as { n: string; h: string };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const cellsOf = (f: FrameDetail) => `read_parquet([${f.cellList.map((c) => `'${path.join(f.dataRoot, c.path)}'`).join(', ')}])`;

describe('a single Parquet input split over the bees', () => {
  const fx = useFramesDaemon({ tmpPrefix: 'apiary-parts-' });
  const frameDir = (name: string) => path.join(fx.d.home, 'data', 'frames', name);

  /** A Parquet file of `rows` rows in row groups of 10,240 (a whole number of DuckDB vectors, so exact). */
  async function parquet(name: string, rows: number): Promise<string> {
    const file = path.join(fx.tmp, name);
    await duckCopy(`COPY (SELECT range AS id, range % 10 AS g, 'name_' || range AS s FROM range(${rows})) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 10240)`);
    return file;
  }

  /** The write tasks created since `t0`, oldest first. */
  async function writeTasks(t0: number): Promise<TaskView[]> {
    const { tasks } = await fx.d.client.list(undefined, 50);
    return tasks.filter((t) => t.kind === 'write' && t.createdAt >= t0).sort((a, b) => a.createdAt - b.createdAt);
  }

  it('both bees write a part of the one file; the version holds exactly its rows, no staging left', async () => {
    const file = await parquet('one.parquet', 204_800);
    const t0 = Date.now();
    const w = await fx.d.client.writeFrame('whole', { path: file });
    expect(w).toMatchObject({ version: 1, rows_written: 204_800 });
    const tasks = await writeTasks(t0);
    // Two tasks over the one file, each writing half its rows (20 row groups: 10 each).
    const rowsOf = (t: TaskView) => (t.value?.kind === 'write' ? t.value.cells.reduce((n, c) => n + c.rows, 0) : -1);
    expect(tasks.map(rowsOf)).toEqual([102_400, 102_400]);
    // Both bees are idle when the write starts, so each part starts on its own bee.
    expect(new Set(tasks.map((t) => `${t.attempts[0]!.hive}/${t.attempts[0]!.bee}`)).size).toBe(2);
    const f = await fx.d.client.frame('whole');
    expect(await digest(cellsOf(f))).toEqual(await digest(`read_parquet('${file}')`));
    expect(f.columns.find((c) => c.name === 'id')).toMatchObject({ min: 0, max: 204_799 });
    expect(existsSync(path.join(frameDir('whole'), 'staging'))).toBe(false);
  });

  it('a part whose bee is SIGKILLed is retried from a clean dir: every row once, no stray cell', async () => {
    const file = await parquet('retry.parquet', 3_000_000);
    const t0 = Date.now();
    const write = fx.d.client.writeFrame('retried', { path: file, maxAttempts: 3 });
    const hit = await waitFor(
      async () => {
        const t = (await writeTasks(t0)).find((x) => x.state === 'running');
        if (!t) return undefined;
        const bee = (await fx.d.client.colony()).hives.flatMap((h) => h.bees).find((b) => b.state === 'busy' && b.taskId === t.id);
        return bee?.pid ? { task: t.id, pid: bee.pid } : undefined;
      },
      20_000,
      'a bee running a part of the write',
    );
    process.kill(hit.pid, 'SIGKILL');
    const w = await write;
    expect(w).toMatchObject({ version: 1, rows_written: 3_000_000 });
    const killed = await fx.d.client.get(hit.task);
    expect(killed.attempts.length, 'the killed part ran again').toBeGreaterThanOrEqual(2);
    const f = await fx.d.client.frame('retried');
    expect(f.cellList.reduce((n, c) => n + c.rows, 0)).toBe(3_000_000);
    expect(await digest(cellsOf(f))).toEqual(await digest(`read_parquet('${file}')`));
    // Only the version's cells are on disk: the first attempt's files went with its staging dir.
    expect(readdirSync(path.join(frameDir('retried'), 'cells')).sort()).toEqual(f.cellList.map((c) => path.basename(c.path)).sort());
    expect(existsSync(path.join(frameDir('retried'), 'staging'))).toBe(false);
    await fx.d.waitHives(1);
  });
});
