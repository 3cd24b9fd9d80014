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

  it('aligns a table of 300,000 rows (the widest cell sets the width; once overflowed the stack)', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ name: i === 123_456 ? 'widest' : 'x', n: i }));
    const lines = formatTable({ ...r, rows }).split('\n');
    expect(lines[0]).toBe('name   │      n');
    expect(lines[2 + 123_456]).toBe('widest │ 123456');
    expect(lines.at(-2)).toBe('(300000 rows)');
  });

  it('writes RFC 4180 CSV', () => {
    expect(formatCsv(r)).toBe('name,n\r\n"a ""q"", b",5\r\n,12345\r\n');
  });
});
