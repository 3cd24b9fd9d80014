import { describe, expect, it } from 'vitest';
import { formatCsv, formatTable } from '../src/format.js';

const r = {
  kind: 'sql' as const,
  columns: [
    { name: 'name', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
  ],
  rows: [
    { name: 'a "q", b', n: 5 },
    { name: null, n: 12345 },
  ],
};

describe('output formats', () => {
  it('aligns a table, numbers to the right, NULL shown', () => {
    expect(formatTable(r)).toBe('name     │     n\n─────────┼──────\na "q", b │     5\nNULL     │ 12345\n(2 rows)\n');
  });

  it('writes RFC 4180 CSV', () => {
    expect(formatCsv(r)).toBe('name,n\r\n"a ""q"", b",5\r\n,12345\r\n');
  });
});
