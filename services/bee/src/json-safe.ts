const BIG_INTS = /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT|UINTEGER)$/;

/**
 * Result rows as DuckDB's own JSON renders them (dates as 2026-01-03, timestamps as
 * 2026-01-03 10:00:00, intervals, UUIDs, NaN), except that 64/128-bit integers and decimals become
 * JSON numbers when that loses nothing (count(*) is a number, as a person expects); larger ones
 * stay strings rather than silently lose precision.
 */
export function rowsOf(reader: { columnNames(): string[]; columnTypes(): { toString(): string }[]; getRowObjectsJson(): Record<string, unknown>[] }): {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
} {
  const names = reader.columnNames();
  const types = reader.columnTypes().map(String);
  const convert = valueConverters(types);
  // Keys of a row object are the column names, so a converted row is rebuilt in column order.
  const rows = reader.getRowObjectsJson().map((r) => {
    const out: Record<string, unknown> = {};
    names.forEach((n, i) => {
      const v = r[n];
      out[n] = convert[i] ? convert[i]!(v) : v;
    });
    return out;
  });
  return { columns: names.map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })), rows };
}

/** Per column, the conversion rowsOf applies to DuckDB's JSON value (null: none); streamed rows use the same. */
export function valueConverters(types: string[]): (((v: unknown) => unknown) | null)[] {
  return types.map((t) => {
    if (BIG_INTS.test(t)) return (v: unknown) => (typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v);
    if (t.startsWith('DECIMAL')) return (v: unknown) => (typeof v === 'string' && v.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15 ? Number(v) : v);
    return null;
  });
}
