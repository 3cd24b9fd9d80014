/** RFC 4180 CSV lines for streamed results, as `keeper sql --format csv` prints them: NULL is an empty field. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(columns: readonly { name: string }[]): string {
  return `${columns.map((c) => field(c.name)).join(',')}\r\n`;
}

export function csvRow(values: readonly unknown[]): string {
  return `${values.map(field).join(',')}\r\n`;
}
