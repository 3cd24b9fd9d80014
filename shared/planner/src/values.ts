// Ordering of statistics values and SQL constants the way DuckDB orders them, or "can't tell".
// Every helper answers undefined when unsure, and the caller then keeps the cell.

/** -1, 0, 1, or undefined when the order cannot be proven. */
export type Cmp = -1 | 0 | 1 | undefined;

const sign = (d: number): -1 | 0 | 1 => (d < 0 ? -1 : d > 0 ? 1 : 0);

/**
 * Numbers: exact for safe integers; otherwise values closer than a relative 1e-6 are "unsure",
 * because DuckDB may cast the literal to the column type (0.1 → FLOAT) and DECIMAL or large
 * BIGINT statistics are only approximated by a JS number.
 */
export function compareNumbers(a: number, b: number): Cmp {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  if (Number.isSafeInteger(a) && Number.isSafeInteger(b)) return sign(a - b);
  const tolerance = 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= tolerance ? undefined : sign(a - b);
}

/** VARCHAR order in DuckDB is byte order of UTF-8 (JS compares UTF-16 code units). */
export function compareStrings(a: string, b: string): Cmp {
  return sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** A parsed ISO date or timestamp: nanoseconds since the epoch (UTC when it had an offset). */
export interface Instant {
  ns: bigint;
  /** Minutes east of UTC as written, or null when the text had no offset (a naive timestamp). */
  offset: number | null;
  dateOnly: boolean;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export const NS_PER: Record<'day' | 's' | 'ms' | 'us' | 'ns', bigint> = {
  day: 86_400_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  ns: 1n,
};

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function parseInstant(text: string): Instant | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset: number | null = null;
  if (tz) {
    if (h === undefined) return undefined; // "2024-01-01Z" is not a form DuckDB writes
    const t = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
    offset = t ? (t[1] === '-' ? -1 : 1) * (Number(t[2]) * 60 + Number(t[3] ?? 0)) : 0;
    if (Math.abs(offset) >= 24 * 60) return undefined;
  }
  const seconds = daysFromCivil(Number(y), month, day) * 86400 + hour * 3600 + minute * 60 + second - (offset ?? 0) * 60;
  const ns = BigInt(seconds) * NS_PER.s + BigInt((frac ?? '').padEnd(9, '0') || '0');
  return { ns, offset, dateOnly: h === undefined };
}

export function compareInstants(a: Instant, b: Instant): Cmp {
  return a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0;
}
