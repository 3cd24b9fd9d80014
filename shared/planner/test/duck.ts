// Test helpers around a real DuckDB: parse trees in, rendered SQL out, results as JSON rows.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DESERIALIZE_SQL, SERIALIZE_SQL, type Deserialize } from '../src/index.js';

export interface Duck {
  conn: DuckDBConnection;
  close: () => void;
}

export async function openDuck(): Promise<Duck> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  return {
    conn,
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** What a bee does first: the parse tree of the SQL text as JSON. */
export async function serialize(conn: DuckDBConnection, sql: string): Promise<string> {
  const r = await conn.runAndReadAll(SERIALIZE_SQL, [sql]);
  return String(r.getRows()[0]![0]);
}

export function deserializer(conn: DuckDBConnection): Deserialize {
  return async (json) => {
    const r = await conn.runAndReadAll(DESERIALIZE_SQL, [json]);
    return String(r.getRows()[0]![0]);
  };
}

export interface Result {
  names: string[];
  types: string[];
  rows: unknown[][];
}

export async function query(conn: DuckDBConnection, sql: string): Promise<Result> {
  const r = await conn.runAndReadAll(sql);
  return { names: r.columnNames(), types: r.columnTypes().map(String), rows: r.getRowsJson() as unknown[][] };
}
