import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Run one SQL statement (typically a COPY … TO file) in a DuckDB of this test process: input files
 * made this way owe nothing to the colony under test.
 */
export async function duckCopy(sql: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(sql);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
