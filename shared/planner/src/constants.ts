// SQL constants a pruning predicate can compare against, read from the parse tree.
import { child, nodes, str, type Node } from './ast.js';
import { RawNumber } from './json.js';
import { classify, type TimeUnit } from './columns.js';
import { NS_PER, parseInstant, type Instant } from './values.js';

export type Constant =
  | { kind: 'null' }
  | { kind: 'num'; v: number }
  | { kind: 'str'; v: string }
  /** A typed literal such as TIMESTAMP '…' or DATE '…': exactly this instant. */
  | { kind: 'time'; at: Instant; zoned: boolean };

const NUMERIC_CONSTANT = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'FLOAT', 'DOUBLE']);

/** True when the instant is a whole number of `unit`s, so casting it to that unit is exact. */
export function fitsUnit(at: Instant, unit: TimeUnit): boolean {
  return at.ns % NS_PER[unit] === 0n;
}

/** The constant's value, or undefined for anything that is not a plain literal. */
export function constantOf(e: Node): Constant | undefined {
  const cls = str(e, 'class');
  if (cls === 'CONSTANT') {
    const value = child(e, 'value');
    if (!value) return undefined;
    if (value['is_null'] === true) return { kind: 'null' };
    const type = child(value, 'type');
    const id = type ? str(type, 'id') : '';
    const raw = value['value'];
    // Fractions arrive as RawNumber (source text kept); integers beyond 2^53 are not compared.
    const v = raw instanceof RawNumber && /[.eE]/.test(raw.raw) ? raw.value : raw;
    if (v instanceof RawNumber) return undefined;
    if (NUMERIC_CONSTANT.has(id) && typeof v === 'number') return { kind: 'num', v };
    if (id === 'DECIMAL' && typeof v === 'number' && type) {
      const info = child(type, 'type_info');
      const scale = info?.['scale'];
      return typeof scale === 'number' ? { kind: 'num', v: v / 10 ** scale } : undefined;
    }
    if (id === 'VARCHAR' && typeof v === 'string') return { kind: 'str', v };
    return undefined;
  }
  if (cls === 'FUNCTION' && str(e, 'function_name') === '-' && nodes(e, 'children').length === 1) {
    const inner = constantOf(nodes(e, 'children')[0]!);
    return inner?.kind === 'num' ? { kind: 'num', v: -inner.v } : undefined;
  }
  if (cls === 'CAST' && e['try_cast'] !== true) return typedTime(e);
  return undefined;
}

/** TIMESTAMP '…', DATE '…', '…'::TIMESTAMPTZ: only when the cast cannot round or guess a zone. */
function typedTime(e: Node): Constant | undefined {
  const inner = child(e, 'child');
  const target = child(e, 'cast_type');
  if (!inner || !target || target['type_info'] !== null) return undefined;
  const lit = constantOf(inner);
  const cls = classify(str(target, 'id'));
  if (lit?.kind !== 'str' || cls.kind !== 'time') return undefined;
  const at = parseInstant(lit.v);
  if (!at || !fitsUnit(at, cls.unit)) return undefined;
  // A zone-less text cast to TIMESTAMPTZ depends on the session time zone; an offset cast to a
  // naive TIMESTAMP is converted in ways not worth guessing.
  if (cls.zoned !== (at.offset !== null)) return undefined;
  return { kind: 'time', at, zoned: cls.zoned };
}
