import type { Column, SqlResult } from '@apiary/protocol';

export type Format = 'table' | 'json' | 'csv' | 'ndjson';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv', 'ndjson'];

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

/** An aligned text table, numbers right-aligned, like the DuckDB and psql shells. */
export function formatTable(r: SqlResult): string {
  const cols: Column[] = r.columns;
  const body = r.rows.map((row) => cols.map((c) => cell(row[c.name])));
  // A loop, not Math.max(...column): spreading a few hundred thousand rows overflows the stack.
  const widths = cols.map((c) => c.name.length);
  for (const b of body) {
    for (let i = 0; i < b.length; i++) widths[i] = Math.max(widths[i]!, b[i]!.length);
  }
  const num = cols.map((c) => NUMERIC.test(c.type));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (num[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join(' │ ')
      .trimEnd();
  const out = [line(cols.map((c) => c.name)), widths.map((w) => '─'.repeat(w)).join('─┼─')];
  for (const b of body) out.push(line(b));
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row; NULL is an empty field. */
export function formatCsv(r: SqlResult): string {
  const lines = [r.columns.map((c) => csvField(c.name)).join(',')];
  for (const row of r.rows) lines.push(r.columns.map((c) => csvField(row[c.name])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** One CSV line (values in column order), as formatCsv writes it: for rows printed as they stream in. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** One NDJSON line: the row as an object keyed by column name, as `--format json` lists them. */
export function ndjsonLine(columns: readonly Column[], values: readonly unknown[]): string {
  const o: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    o[c.name] = values[i];
  });
  return `${JSON.stringify(o)}\n`;
}

export function formatSql(r: SqlResult, f: Format): string {
  if (f === 'json') return JSON.stringify(r.rows) + '\n';
  if (f === 'csv') return formatCsv(r);
  if (f === 'ndjson')
    return r.rows
      .map((row) =>
        ndjsonLine(
          r.columns,
          r.columns.map((c) => row[c.name]),
        ),
      )
      .join('');
  return formatTable(r);
}
