// Only a single SELECT statement is planned; everything else is SQL_READ_ONLY (or SQL_ERROR).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, serialize, type Duck } from './duck.js';
import { planQuery, type Catalog } from '../src/index.js';

const CATALOG: Catalog = [{ name: 'sales', cells: [{ path: '/nowhere/sales-0.parquet', bytes: 10 }] }];
const OPTIONS = { bees: 2, targetBytesPerGroup: 1 << 20 };

const WRITES = [
  'INSERT INTO sales VALUES (1)',
  'INSERT INTO sales SELECT * FROM sales',
  'CREATE TABLE t AS SELECT * FROM sales',
  'CREATE VIEW v AS SELECT 1',
  'DROP TABLE sales',
  "COPY sales TO '/tmp/out.parquet' (FORMAT parquet)",
  "COPY (SELECT * FROM sales) TO '/tmp/out.csv'",
  "ATTACH '/tmp/other.duckdb' AS other",
  'DETACH other',
  'UPDATE sales SET x = 1',
  'DELETE FROM sales',
  'SET threads = 1',
  'PRAGMA version',
  'CALL pragma_version()',
  'INSTALL httpfs',
  "EXPORT DATABASE '/tmp/db'",
  'SELECT 1; DROP TABLE sales',
  'SELECT 1; SELECT 2',
];

describe('read-only gate', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck.close());

  it.each(WRITES)('rejects %s with SQL_READ_ONLY', async (sql) => {
    const result = planQuery(await serialize(duck.conn, sql), CATALOG, OPTIONS);
    expect(result).toMatchObject({ ok: false, code: 'SQL_READ_ONLY' });
  });

  it.each(['SELEC 1', 'SELECT FROM WHERE', ''])('reports %j as SQL_ERROR', async (sql) => {
    const result = planQuery(await serialize(duck.conn, sql), CATALOG, OPTIONS);
    expect(result).toMatchObject({ ok: false, code: 'SQL_ERROR' });
    expect(!result.ok && result.message).not.toBe('');
  });

  it('reports a parse tree that is not JSON as SQL_ERROR', () => {
    expect(planQuery('{"error":false,', CATALOG, OPTIONS)).toMatchObject({ ok: false, code: 'SQL_ERROR' });
  });

  it.each(['SELECT count(*) FROM sales', 'FROM sales', 'DESCRIBE sales', 'VALUES (1)'])('plans %s', async (sql) => {
    expect(planQuery(await serialize(duck.conn, sql), CATALOG, OPTIONS).ok).toBe(true);
  });
});
