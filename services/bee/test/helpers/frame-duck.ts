import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect } from 'vitest';
import { closeFrameDuck } from '../../src/frame-sql.js';

/**
 * A temp dir for a describe block that runs tasks on the bee's warm sealed frame database
 * (frame-sql.ts). Its path is fixed now, so the block can name files under it; the dir itself is
 * made in beforeAll (a block that `-t` filters out runs no hooks and leaves nothing), and afterAll
 * closes the frame database and removes the dir. Call it before the block's own hooks.
 */
export function useFrameDuckDir(prefix: string): string {
  const dir = path.join(os.tmpdir(), `${prefix}${randomBytes(6).toString('hex')}`);
  beforeAll(() => {
    mkdirSync(dir, { mode: 0o700 });
  });
  afterAll(() => {
    closeFrameDuck();
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  });
  return dir;
}

/** Write each query's rows to its Parquet file (file → SELECT) with a throwaway in-memory DuckDB: a test's input cells. */
export async function writeParquet(files: Record<string, string>): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    for (const [file, sql] of Object.entries(files)) await c.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
