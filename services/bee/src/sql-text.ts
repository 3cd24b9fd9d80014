/** SQL text helpers: every path and name a task hands DuckDB goes through these, never raw. */

export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function litList(xs: readonly string[]): string {
  return `[${xs.map(lit).join(', ')}]`;
}
