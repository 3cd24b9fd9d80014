// Lossless JSON for DuckDB parse trees: JSON.parse would round BIGINT/HUGEINT constants
// (e.g. 9223372036854775807), and DuckDB's reader wants a DOUBLE written "200.0", not "200".

/** A number kept as its source text: an integer beyond 2^53, or any fraction or exponent form. */
export class RawNumber {
  constructor(readonly raw: string) {}
  /** The nearest JS number (exact only for fractions and safe integers). */
  get value(): number {
    return Number(this.raw);
  }
}

export type Json = null | boolean | number | string | RawNumber | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;

export function parseJson(text: string): Json {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`invalid JSON: ${what} at ${pos}`);
  };
  const ws = (): void => {
    WS.lastIndex = pos;
    WS.exec(text);
    pos = WS.lastIndex;
  };
  const str = (): string => {
    const start = pos;
    pos++;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x5c) pos += 2;
      else if (c === 0x22) break;
      else pos++;
    }
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = (): Json => {
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const out: JsonObject = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected key');
        const k = str();
        ws();
        if (text[pos++] !== ':') fail('expected ":"');
        out[k] = value();
        ws();
        const d = text[pos++];
        if (d === '}') return out;
        if (d !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const out: Json[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        const d = text[pos++];
        if (d === ']') return out;
        if (d !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    return m[0] === String(n) && Number.isSafeInteger(n) ? n : new RawNumber(m[0]);
  };
  const out = value();
  ws();
  if (pos !== text.length) fail('trailing characters');
  return out;
}

export function stringifyJson(v: Json): string {
  if (v instanceof RawNumber) return v.raw;
  if (Array.isArray(v)) return `[${v.map(stringifyJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Deep copy (RawNumber instances are immutable and shared). */
export function cloneJson<T extends Json>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  if (v !== null && typeof v === 'object' && !(v instanceof RawNumber)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneJson(x);
    return out as T;
  }
  return v;
}
