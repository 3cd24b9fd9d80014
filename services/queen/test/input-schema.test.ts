import { describe, expect, it } from 'vitest';
import { unifySchemas, unifyTypes } from '../src/frames/input-schema.js';

describe('one schema per write: type unification', () => {
  it('widens integers to the smallest signed type holding both, mixes other numerics to DOUBLE, DATE with TIMESTAMP to TIMESTAMP', () => {
    expect(unifyTypes('BIGINT', 'BIGINT')).toBe('BIGINT');
    expect(unifyTypes('INTEGER', 'BIGINT')).toBe('BIGINT');
    expect(unifyTypes('TINYINT', 'SMALLINT')).toBe('SMALLINT');
    expect(unifyTypes('UINTEGER', 'INTEGER')).toBe('BIGINT'); // 32-bit unsigned needs 64 signed bits
    expect(unifyTypes('UBIGINT', 'BIGINT')).toBe('HUGEINT');
    expect(unifyTypes('UBIGINT', 'UINTEGER')).toBe('UBIGINT');
    expect(unifyTypes('UHUGEINT', 'HUGEINT')).toBe('DOUBLE'); // no signed type holds both
    expect(unifyTypes('BIGINT', 'DOUBLE')).toBe('DOUBLE');
    expect(unifyTypes('DECIMAL(18,3)', 'BIGINT')).toBe('DOUBLE');
    expect(unifyTypes('DATE', 'TIMESTAMP')).toBe('TIMESTAMP');
    expect(unifyTypes('VARCHAR', 'BIGINT')).toBeNull();
    expect(unifyTypes('DATE', 'BOOLEAN')).toBeNull();
  });

  it('unifies across files, and names the file and column that cannot share the schema', () => {
    const files = ['/in/a.csv', '/in/b.csv', '/in/c.csv'];
    const col = (name: string, type: string) => ({ name, type });
    expect(
      unifySchemas(files, [
        [col('id', 'BIGINT'), col('x', 'BIGINT')],
        [col('id', 'BIGINT'), col('x', 'DOUBLE')],
        [col('id', 'INTEGER'), col('x', 'BIGINT')],
      ]),
    ).toEqual([col('id', 'BIGINT'), col('x', 'DOUBLE')]);
    expect(() => unifySchemas(files, [[col('id', 'BIGINT')], [col('id', 'BIGINT')], [col('id', 'BIGINT'), col('y', 'BIGINT')]])).toThrow(
      expect.objectContaining({ code: 'FRAME_SCHEMA_MISMATCH', message: expect.stringContaining('/in/c.csv has column 2 "y"') }),
    );
    expect(() => unifySchemas(files, [[col('w', 'DATE')], [col('w', 'TIMESTAMP')], [col('w', 'BOOLEAN')]])).toThrow(
      expect.objectContaining({ message: expect.stringContaining('column "w" is BOOLEAN in /in/c.csv but TIMESTAMP in /in/b.csv') }),
    );
  });
});
