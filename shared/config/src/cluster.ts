import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ApiaryError } from '@apiary/protocol';
import { ClusterFileSchema } from './cluster-schema.js';

export { isSafeAddress, isSafeRemotePath } from './cluster-schema.js';
export { shellQuote, remoteCommand, shellQuoteRemotePath, sftpRemotePath } from './shell.js';

/*
 * The cluster file of `keeper cluster up [cluster.yaml]`; cluster.example.yaml at the repository
 * root documents every field. Parsing gives a frozen, fully resolved ClusterConfig or throws
 * ApiaryError('CONFIG_INVALID') naming file:line:column, the field path and what was expected.
 */

export const DEFAULT_QUEEN_PORT = 7474;
/** Host defaults when neither the host nor `defaults:` sets a field (user has none: it is required). */
export const CLUSTER_HOST_DEFAULTS = Object.freeze({
  port: 22,
  key: '~/.ssh/id_ed25519',
  knownHosts: '~/.ssh/known_hosts',
  installDir: '~/apiary',
  home: '~/.apiary',
});

export interface ClusterQueen {
  /** The queen's address as the hosts see it. */
  readonly address: string;
  /** 0: any free port; the hives then dial the port the queen actually bound (the keeper fills it in). */
  readonly port: number;
  /** Where the queen binds; defaults to `address`. */
  readonly listen: string;
  /** What hives dial: `ws://address:port/v1/hive` (IPv6 in brackets); with port 0, only a template. */
  readonly hiveUrl: string;
  /** The user's certificate and key (absolute local paths) for the queen's TLS; unset: the queen makes its own. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export interface ClusterHost {
  readonly name: string;
  readonly address: string;
  /** SSH port. */
  readonly port: number;
  readonly user: string;
  /** Absolute path of the private key on this (the keeper's) machine. */
  readonly key: string;
  /** Absolute path of the known_hosts file on this machine. */
  readonly knownHosts: string;
  /**
   * Remote paths: absolute, or starting with `~/`, which is left as written and means the remote
   * user's home. Use shellQuoteRemotePath() in shell commands and sftpRemotePath() for SFTP.
   */
  readonly installDir: string;
  /** APIARY_HOME on the host (a remote path, see installDir). */
  readonly home: string;
  /** Unset: the hive picks (one bee per CPU). */
  readonly bees?: number;
  /** Unset: the hive derives it from the host's memory. */
  readonly memoryPerBeeBytes?: number;
  /** `defaults.labels` overlaid with the host's own. */
  readonly labels: Readonly<Record<string, string>>;
  /** The queen's address as this host reaches it, when not queen.address. */
  readonly queenAddress?: string;
}

export interface ClusterFileMount {
  /** Remote path (see ClusterHost.installDir). */
  readonly remote: string;
  /** Absolute local path. */
  readonly local: string;
}

/** Hive options for every host; unset fields keep the hive's own defaults. */
export interface ClusterHiveOptions {
  readonly taskTimeoutMs?: number;
  readonly graceMs?: number;
  readonly heartbeatMs?: number;
  readonly memoryPollMs?: number;
  readonly reserveMemoryBytes?: number;
}

export interface ClusterConfig {
  /** The `cluster:` name. */
  readonly name: string;
  /** The file as named to loadClusterFile / parseCluster. */
  readonly source: string;
  /** The directory relative local paths were resolved against. */
  readonly baseDir: string;
  readonly queen: ClusterQueen;
  readonly hosts: readonly ClusterHost[];
  /** Run in order on each host before its hive starts (shell commands, by intent). */
  readonly setupCommands: readonly string[];
  /** In file order. */
  readonly fileMounts: readonly ClusterFileMount[];
  readonly hive: ClusterHiveOptions;
}

export interface ParseClusterOptions {
  /** Where relative local paths are resolved from; default: the directory of `sourceName`. */
  baseDir?: string;
  /** What a local `~` means; default: os.homedir(). */
  homeDir?: string;
}

/** One problem in a cluster file, as also listed in the error's `details.errors`. */
export interface ClusterFileIssue {
  /** Field path, e.g. `hosts[1].address`; empty for the whole document or a syntax error. */
  path: string;
  line: number;
  column: number;
  message: string;
}

type Seg = string | number;

const MAX_REPORTED = 20;

/** Read and parse a cluster file. Errors name `file` as given. */
export function loadClusterFile(file: string, options: ParseClusterOptions = {}): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new ApiaryError('CONFIG_INVALID', `${file}: cannot read the cluster file: ${why}`, { file }, { cause: e });
  }
  return parseCluster(text, file, options);
}

/** Parse cluster file text. `sourceName` names the file in errors and locates relative paths. */
export function parseCluster(text: string, sourceName: string, options: ParseClusterOptions = {}): ClusterConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true, version: '1.2' });
  const report: (issues: ClusterFileIssue[]) => never = (issues) => {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    const shown = issues.slice(0, MAX_REPORTED).map((i) => `${sourceName}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    if (issues.length > MAX_REPORTED) shown.push(`… and ${issues.length - MAX_REPORTED} more`);
    throw new ApiaryError('CONFIG_INVALID', shown.join('\n'), { file: sourceName, errors: issues });
  };
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  // 1. YAML syntax (and unresolved tags, which would silently become strings)
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    report(syntax.map((e) => ({ path: '', ...at(e.pos[0]), message: `invalid YAML: ${e.message}${unclosedHint(doc, e, at)}` })));
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    report([{ path: '', line: 1, column: 1, message: `invalid YAML: ${(e as Error).message}` }]);
  }

  // 2. Schema
  const parsed = ClusterFileSchema.safeParse(raw);
  if (!parsed.success) {
    report(parsed.error.issues.flatMap((i) => describeIssue(i, raw, doc, at)));
  }
  const f = parsed.data;

  // 3. Rules across fields
  const issues: ClusterFileIssue[] = [];
  const problem = (p: Seg[], message: string) => {
    const loc = locate(doc, p);
    issues.push({ path: formatPath(p), ...at(loc.offset), message });
  };
  if ((f.queen.tls_cert === undefined) !== (f.queen.tls_key === undefined)) {
    problem(
      ['queen', f.queen.tls_cert === undefined ? 'tls_key' : 'tls_cert'],
      'tls_cert and tls_key go together: set both, or neither (the queen then makes its own certificate)',
    );
  }
  const seen = new Map<string, number>();
  f.hosts.forEach((h, i) => {
    const first = seen.get(h.name);
    if (first === undefined) seen.set(h.name, i);
    else
      problem(
        ['hosts', i, 'name'],
        `duplicate host name "${h.name}"; hosts[${first}] (line ${at(locate(doc, ['hosts', first, 'name']).offset).line}) already has it`,
      );
    if (h.user === undefined && f.defaults?.user === undefined) {
      problem(['hosts', i, 'user'], 'required; set it on the host or in defaults (expected a user name matching ^[a-z_][a-z0-9_-]*$)');
    }
  });
  if (issues.length > 0) report(issues);

  // 4. Resolve
  const baseDir = path.resolve(options.baseDir ?? path.dirname(path.resolve(sourceName)));
  const homeDir = options.homeDir ?? os.homedir();
  const local = (p: string) => resolveLocalPath(p, baseDir, homeDir);
  const d = f.defaults ?? {};
  const queenPort = f.queen.port ?? DEFAULT_QUEEN_PORT;
  const hostInUrl = f.queen.address.includes(':') ? `[${f.queen.address}]` : f.queen.address;
  const hive: { -readonly [K in keyof ClusterHiveOptions]: ClusterHiveOptions[K] } = {};
  if (f.hive?.task_timeout !== undefined) hive.taskTimeoutMs = f.hive.task_timeout;
  if (f.hive?.grace !== undefined) hive.graceMs = f.hive.grace;
  if (f.hive?.heartbeat_ms !== undefined) hive.heartbeatMs = f.hive.heartbeat_ms;
  if (f.hive?.memory_poll_ms !== undefined) hive.memoryPollMs = f.hive.memory_poll_ms;
  if (f.hive?.reserve_memory !== undefined) hive.reserveMemoryBytes = f.hive.reserve_memory;

  const config: ClusterConfig = {
    name: f.cluster,
    source: sourceName,
    baseDir,
    queen: {
      address: f.queen.address,
      port: queenPort,
      listen: f.queen.listen ?? f.queen.address,
      hiveUrl: `ws://${hostInUrl}:${queenPort}/v1/hive`,
      ...(f.queen.tls_cert === undefined ? {} : { tlsCert: local(f.queen.tls_cert) }),
      ...(f.queen.tls_key === undefined ? {} : { tlsKey: local(f.queen.tls_key) }),
    },
    hosts: f.hosts.map((h): ClusterHost => {
      const bees = h.bees ?? d.bees;
      const memoryPerBeeBytes = h.memory_per_bee ?? d.memory_per_bee;
      return {
        name: h.name,
        address: h.address,
        port: h.port ?? d.port ?? CLUSTER_HOST_DEFAULTS.port,
        user: (h.user ?? d.user)!, // checked above
        key: local(h.key ?? d.key ?? CLUSTER_HOST_DEFAULTS.key),
        knownHosts: local(h.known_hosts ?? d.known_hosts ?? CLUSTER_HOST_DEFAULTS.knownHosts),
        installDir: h.install_dir ?? d.install_dir ?? CLUSTER_HOST_DEFAULTS.installDir,
        home: h.home ?? d.home ?? CLUSTER_HOST_DEFAULTS.home,
        ...(bees === undefined ? {} : { bees }),
        ...(memoryPerBeeBytes === undefined ? {} : { memoryPerBeeBytes }),
        labels: { ...d.labels, ...h.labels },
        ...(h.queen_address === undefined ? {} : { queenAddress: h.queen_address }),
      };
    }),
    setupCommands: f.setup_commands ?? [],
    fileMounts: Object.entries(f.file_mounts ?? {}).map(([remote, src]) => ({ remote, local: local(src) })),
    hive,
  };
  return deepFreeze(config);
}

/** A local path: `~` and `~/…` are this user's home; relative paths are relative to `baseDir`. */
export function resolveLocalPath(p: string, baseDir: string, homeDir: string = os.homedir()): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/')) return path.join(homeDir, p.slice(2));
  return path.resolve(baseDir, p);
}

// ---- error reporting ----

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, doc: Document, at: (offset: number) => { line: number; column: number }): ClusterFileIssue[] {
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

const KEYS: Record<string, string[]> = {
  root: ['cluster', 'queen', 'defaults', 'hosts', 'setup_commands', 'file_mounts', 'hive'],
  queen: ['address', 'port', 'listen', 'tls_cert', 'tls_key'],
  defaults: ['user', 'port', 'key', 'known_hosts', 'install_dir', 'home', 'bees', 'memory_per_bee', 'labels'],
  host: ['name', 'address', 'queen_address', 'user', 'port', 'key', 'known_hosts', 'install_dir', 'home', 'bees', 'memory_per_bee', 'labels'],
  hive: ['task_timeout', 'grace', 'heartbeat_ms', 'memory_poll_ms', 'reserve_memory'],
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
function formatPath(p: readonly Seg[]): string {
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
function locate(doc: Document, p: readonly Seg[], key = false): { offset: number; found: boolean } {
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
function unclosedHint(doc: Document, e: YAMLError, at: (offset: number) => { line: number; column: number }): string {
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

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
