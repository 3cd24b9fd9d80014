/**
 * DuckDB's JS values → values that survive JSON: results cross the hive's WebSocket as JSON.
 * BIGINT/HUGEINT within ±2^53 become numbers (what a person expects from count(*)); larger ones
 * become strings rather than silently losing precision.
 */
export function jsonSafe(v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'object': {
      if (v === null) return null;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (Array.isArray(v)) return v.map(jsonSafe);
      if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonSafe(x)]));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
      return out;
    }
    case 'undefined':
      return null;
    default:
      return v;
  }
}
