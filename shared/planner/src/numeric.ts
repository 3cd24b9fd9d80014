// Which numeric kind an aggregate's argument provably has, so its partials can cross Parquet
// exactly: DuckDB writes HUGEINT (the type of sum over any integer) to Parquet as DOUBLE.
import { child, columnPath, nodes, str, type Node } from './ast.js';
import { baseTypeName } from './columns.js';
import type { FrameColumn } from './types.js';

/**
 * int: an integer type below HUGEINT (sum is HUGEINT, carried as DECIMAL(38, 0));
 * huge: HUGEINT or UHUGEINT (a sum may exceed DECIMAL(38, 0), so it is not decomposed);
 * other: FLOAT, DOUBLE or DECIMAL (sum is DOUBLE or DECIMAL(38, s), which Parquet keeps exactly).
 */
export type NumericKind = 'int' | 'huge' | 'other';

const KINDS: Record<string, NumericKind> = {};
for (const t of [
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'INT',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'INT1',
  'INT2',
  'INT4',
  'INT8',
  'LONG',
  'SHORT',
  'SIGNED',
])
  KINDS[t] = 'int';
for (const t of ['HUGEINT', 'UHUGEINT']) KINDS[t] = 'huge';
for (const t of ['FLOAT', 'REAL', 'DOUBLE', 'DECIMAL', 'NUMERIC', 'FLOAT4', 'FLOAT8', 'DOUBLE PRECISION']) KINDS[t] = 'other';

/** Operators whose result over integers is an integer and over anything else numeric is not. */
const CLOSED = new Set(['+', '-', '*', '%']);

export interface NumericScope {
  qualifier: string;
  declared: Map<string, FrameColumn> | null;
}

/** The provable kind of e, or null when unsure (no declared schema, a function, a NULL, …). */
export function numericKind(e: Node, scope: NumericScope): NumericKind | null {
  switch (str(e, 'class')) {
    case 'CONSTANT': {
      const value = child(e, 'value');
      const type = value && child(value, 'type');
      return type && value['is_null'] !== true ? (KINDS[str(type, 'id')] ?? null) : null;
    }
    case 'COLUMN_REF': {
      // Without declared types an integral DOUBLE column looks like an integer one: unsure.
      const path = columnPath(e, scope.qualifier);
      const type = path.length === 1 ? scope.declared?.get(path[0]!)?.type : undefined;
      return type === undefined ? null : (KINDS[baseTypeName(type)] ?? null);
    }
    case 'CAST': {
      const type = child(e, 'cast_type');
      return type ? (KINDS[str(type, 'id')] ?? null) : null;
    }
    case 'FUNCTION': {
      const op = str(e, 'function_name');
      const args = nodes(e, 'children');
      if (args.length === 0 || args.length > 2) return null;
      const kinds = args.map((a) => numericKind(a, scope));
      if (kinds.some((k) => k === null)) return null;
      if (kinds.includes('huge')) return 'huge';
      if (op === '/') return 'other'; // DuckDB's / is DOUBLE division for every numeric pair
      if (op === '//') return kinds.every((k) => k === 'int') ? 'int' : null;
      if (!CLOSED.has(op)) return null;
      return kinds.every((k) => k === 'int') ? 'int' : 'other';
    }
    default:
      return null;
  }
}
