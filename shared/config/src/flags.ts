import { parseArgs } from 'node:util';
import { ApiaryError } from '@apiary/protocol';
import { parseDuration, parseSize } from './units.js';

/**
 * A process's command line as data: each flag once, with its kind and the config option it sets.
 * The parser, the argv builder, the JSON form (a remote hive's config file) and the usage line all
 * derive from one table (QUEEN_FLAGS, HIVE_FLAGS); bounds stay in the config schema the values feed.
 */
export type FlagKind = 'string' | 'boolean' | 'int' | 'size' | 'duration' | 'list';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** Placeholder in the usage line. */
  readonly arg?: string;
  /** The config option it sets; absent for the process's own flags (--log-file, --exit-with-stdin). */
  readonly option?: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

type ValueOf<K extends FlagKind> = K extends 'boolean' ? boolean : K extends 'list' ? string[] : K extends 'string' ? string : number;

/** Parsed flags: sizes in bytes, durations in ms, keys as the flags are spelled. */
export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]?: ValueOf<T[K]['kind']> };

/** The node:util parseArgs options for a table (also for a keeper command that forwards the flags). */
export function parseArgsOptions(table: FlagTable): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(table).map(([k, s]) => [
      k,
      s.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', ...(s.kind === 'list' ? { multiple: true } : {}) },
    ]),
  );
}

/** One flag's text to its value; a malformed value is a USAGE error naming the flag. */
export function parseFlagValue(name: string, spec: FlagSpec, raw: string | boolean | string[]): unknown {
  const what = `--${name}`;
  if (spec.kind === 'boolean') return raw === true || raw === 'true';
  if (spec.kind === 'list') return (Array.isArray(raw) ? raw : [raw]).map(String);
  const text = String(raw);
  try {
    if (spec.kind === 'size') return parseSize(text, what);
    if (spec.kind === 'duration') return parseDuration(text, what);
  } catch (e) {
    throw new ApiaryError('USAGE', (e as Error).message);
  }
  // Not a number reads NaN: the config schema it feeds rejects it with the field's bounds (CONFIG_INVALID).
  if (spec.kind === 'int') return text.trim() === '' ? Number.NaN : Number(text);
  return text;
}

/** Convert the raw values of a table's flags (from parseArgs or a JSON file); other keys are ignored. */
export function flagValues<T extends FlagTable>(table: T, raw: Record<string, unknown>): FlagValues<T> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(table)) {
    const v = raw[k];
    if (v !== undefined && v !== null) out[k] = parseFlagValue(k, spec, v as string | boolean | string[]);
  }
  return out as FlagValues<T>;
}

/** Parse argv strictly: an unknown flag, a stray positional or a malformed value is a USAGE error. */
export function parseFlags<T extends FlagTable>(table: T, argv: readonly string[]): FlagValues<T> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: [...argv], options: parseArgsOptions(table), strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ApiaryError('USAGE', (e as Error).message);
  }
  return flagValues(table, values);
}

/** One value as a flag's text: sizes as bytes, durations with their unit (`1500ms`). */
function text(spec: FlagSpec, v: unknown): string {
  return spec.kind === 'duration' ? `${v}ms` : String(v);
}

/** Values back to argv, in table order (the inverse of parseFlags). */
export function toArgv<T extends FlagTable>(table: T, values: FlagValues<T>): string[] {
  const out: string[] = [];
  for (const [k, spec] of Object.entries(table)) {
    const v = (values as Record<string, unknown>)[k];
    if (v === undefined || v === false) continue;
    if (spec.kind === 'boolean') out.push(`--${k}`);
    else if (spec.kind === 'list') for (const x of v as string[]) out.push(`--${k}`, x);
    else out.push(`--${k}`, text(spec, v));
  }
  return out;
}

/** Values as a JSON object keyed by flag (a remote hive's --config file); numbers stay numbers. */
export function toJson<T extends FlagTable>(table: T, values: FlagValues<T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(table)) {
    const v = (values as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out[k] = spec.kind === 'duration' ? text(spec, v) : v;
  }
  return out;
}

/** Flag values → the config options they set (rows without `option` are the process's own). */
export function optionsOf<T extends FlagTable>(table: T, values: FlagValues<T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(table)) {
    const v = (values as Record<string, unknown>)[k];
    if (spec.option && v !== undefined) out[spec.option] = v;
  }
  return out;
}

/** Config options → flag values (the inverse of optionsOf; sizes and durations given as text are parsed). */
export function argsOf<T extends FlagTable>(table: T, options: Readonly<Record<string, unknown>>): FlagValues<T> {
  const raw: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(table)) if (spec.option && options[spec.option] !== undefined) raw[k] = options[spec.option];
  return flagValues(table, raw);
}

/** A sub-table: the flags a caller forwards or accepts. */
export function pickFlags<T extends FlagTable, K extends keyof T>(table: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, table[k]])) as Pick<T, K>;
}

export function omitFlags<T extends FlagTable, K extends keyof T>(table: T, keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(table).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;
}

/** `[--bees N] [--ephemeral] …` for usage text, wrapped at `width` with continuation lines indented. */
export function usageLine(table: FlagTable, width = 100, indent = '    '): string {
  const lines: string[] = [];
  let line = '';
  for (const [k, s] of Object.entries(table)) {
    const item = s.kind === 'boolean' ? `[--${k}]` : `[--${k} ${s.arg ?? s.kind.toUpperCase()}]`;
    if (line && line.length + item.length + 1 > width) {
      lines.push(line);
      line = indent;
    }
    line += (line.trim() ? ' ' : '') + item;
  }
  return [...lines, line].join('\n');
}

/** Run f; what it throws (a RangeError from a value check) becomes a USAGE error with the same message. */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof ApiaryError ? e : new ApiaryError('USAGE', (e as Error).message);
  }
}
