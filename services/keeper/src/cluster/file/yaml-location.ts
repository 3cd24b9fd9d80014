import { isAlias, isCollection, isMap, isScalar, isSeq, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ClusterFileSchema, ClusterHiveSchema, DefaultsSchema, HostSchema, QueenSchema } from './schema.js';
import type { ClusterFileIssue } from './types.js';

/*
 * Where in the YAML text a problem is, and how to say it: schema issues become
 * `file:line:column: field.path: expected …, got …` entries, unknown keys get a "did you mean",
 * an unclosed quote or bracket names where it was opened.
 */

export type Seg = string | number;
export type At = (offset: number) => { line: number; column: number };

/** One schema issue as file issues (an unrecognized_keys issue names each key). */
export function describeIssue(issue: z.core.$ZodIssue, raw: unknown, doc: Document, at: At): ClusterFileIssue[] {
  const p = issue.path.filter((s): s is Seg => typeof s !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const kp = [...p, k];
      const allowed = knownKeys(p);
      const near = allowed.filter((a) => editDistance(a, k) <= 2);
      const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : allowed.length > 0 ? `expected one of ${allowed.join(', ')}` : '';
      return { path: formatPath(kp), ...at(locate(doc, kp, true).offset), message: `unknown key${hint ? `; ${hint}` : ''}` };
    });
  }
  if (issue.code === 'invalid_key') {
    const key = p[p.length - 1];
    const inner = issue.issues[0]?.message ?? issue.message;
    return [{ path: formatPath(p), ...at(locate(doc, p, true).offset), message: `${inner}, got key ${JSON.stringify(String(key))}` }];
  }
  const loc = locate(doc, p);
  const value = valueAt(raw, p);
  const message = value.found ? `${issue.message}, got ${describeValue(value.value)}` : `required; ${issue.message}`;
  return [{ path: formatPath(p), ...at(loc.offset), message }];
}

/** Each section's keys, for "did you mean": from the schema itself. */
const KEYS: Record<string, string[]> = {
  root: Object.keys(ClusterFileSchema.shape),
  queen: Object.keys(QueenSchema.shape),
  defaults: Object.keys(DefaultsSchema.shape),
  host: Object.keys(HostSchema.shape),
  hive: Object.keys(ClusterHiveSchema.shape),
};

function knownKeys(p: Seg[]): string[] {
  if (p.length === 0) return KEYS.root!;
  if (p.length === 2 && p[0] === 'hosts') return KEYS.host!;
  if (p.length === 1 && typeof p[0] === 'string') return KEYS[p[0]] ?? [];
  return [];
}

function valueAt(raw: unknown, p: Seg[]): { found: boolean; value?: unknown } {
  let v: unknown = raw;
  for (const s of p) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, s)) return { found: false };
    v = (v as Record<string, unknown>)[s as string];
  }
  return { found: true, value: v };
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

/** `hosts[1].address`, `file_mounts["/opt/x"]`. */
export function formatPath(p: readonly Seg[]): string {
  let out = '';
  for (const s of p) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * The offset in the text of the node at `p` (its key when `key` is set or the value is empty). When
 * the path does not exist (a missing field) it is the key of the deepest enclosing entry.
 */
export function locate(doc: Document, p: readonly Seg[], key = false): { offset: number; found: boolean } {
  let node: unknown = doc.contents;
  let anchor = startOf(node) ?? 0; // where a missing child of `node` is reported
  for (let i = 0; i < p.length; i++) {
    const s = p[i]!;
    const last = i === p.length - 1;
    node = deref(doc, node);
    if (isMap(node)) {
      const pair = findPair(doc, node, String(s));
      if (!pair) return { offset: anchor, found: false };
      const keyStart = startOf(pair.key) ?? anchor;
      // an empty value (`port:`) is reported at its key
      const valueStart = isEmptyScalar(pair.value) ? undefined : startOf(pair.value);
      if (last) return { offset: key ? keyStart : (valueStart ?? keyStart), found: true };
      anchor = keyStart;
      node = pair.value;
    } else if (isSeq(node) && typeof s === 'number') {
      const item: unknown = node.items[s];
      if (item === undefined) return { offset: anchor, found: false };
      anchor = startOf(item) ?? anchor;
      node = item;
    } else {
      return { offset: anchor, found: false };
    }
  }
  return { offset: anchor, found: true };
}

function deref(doc: Document, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

interface PairLike {
  key: unknown;
  value: unknown;
}

/** The pair for `key` in a map, looking through `<<` merge keys as YAML's merge does. */
function findPair(doc: Document, map: { items: PairLike[] }, key: string, depth = 0): PairLike | undefined {
  for (const pair of map.items) if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.source !== '<<') return pair;
  if (depth > 10) return undefined;
  for (const pair of map.items) {
    if (!(isScalar(pair.key) && pair.key.source === '<<')) continue;
    const v = deref(doc, pair.value);
    const sources = isSeq(v) ? v.items.map((x) => deref(doc, x)) : [v];
    for (const src of sources) {
      if (isMap(src)) {
        const found = findPair(doc, src as { items: PairLike[] }, key, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.range === undefined || node.range === null || node.range[0] === node.range[1]);
}

/**
 * An unclosed quote or flow collection is detected where the input ends or the indentation drops,
 * often lines later; name where it was opened.
 */
export function unclosedHint(doc: Document, e: YAMLError, at: At): string {
  if (!(e.code === 'MISSING_CHAR' || (e.code === 'BAD_INDENT' && /end with/.test(e.message)))) return '';
  const pos = e.pos[0];
  let best: { start: number; what: string } | undefined;
  visit(doc, (_key, node) => {
    const r = (node as Node | null)?.range;
    if (!r || r[0] >= pos || r[2] < pos || (best && best.start > r[0])) return;
    if (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) best = { start: r[0], what: 'the quote' };
    else if (isCollection(node) && node.flow) best = { start: r[0], what: isSeq(node) ? 'the [' : 'the {' };
  });
  if (!best) return '';
  const o = at(best.start);
  return o.line === at(pos).line ? '' : ` (${best.what} opened at line ${o.line}, column ${o.column})`;
}

function startOf(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}
