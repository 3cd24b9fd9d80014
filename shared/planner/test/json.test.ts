// Lossless JSON: large integers and DuckDB's number spellings survive a round trip.
import { describe, expect, it } from 'vitest';
import { RawNumber, parseJson, stringifyJson } from '../src/index.js';

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 and fraction spellings as written', () => {
    const text = '{"a":9223372036854775807,"b":[18446744073709551615,-9007199254740993],"c":200.0,"d":1e3,"e":12}';
    const v = parseJson(text) as Record<string, unknown>;
    expect(v['a']).toBeInstanceOf(RawNumber);
    expect(v['c']).toEqual(new RawNumber('200.0'));
    expect(v['e']).toBe(12);
    expect(stringifyJson(parseJson(text))).toBe(text);
  });
  it('reads strings, escapes, literals and nesting', () => {
    const text = '{"s":"o\'k \\"q\\" \\u00e9 \\\\","t":true,"f":false,"n":null,"o":{},"l":[]}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
    expect(stringifyJson(parseJson(text))).toBe(JSON.stringify(JSON.parse(text)));
    expect(parseJson(' [ 1 , "x" ] ')).toEqual([1, 'x']);
  });
  it('rejects malformed input', () => {
    for (const bad of ['{', '[1,]', '{"a" 1}', 'tru', '1 2', '"open']) expect(() => parseJson(bad)).toThrow(SyntaxError);
  });
});
