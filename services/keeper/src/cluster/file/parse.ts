import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ApiaryError } from '@apiary/protocol';
import { ClusterFileSchema } from './schema.js';
import {
  CLUSTER_HOST_DEFAULTS,
  DEFAULT_QUEEN_PORT,
  type ClusterConfig,
  type ClusterFileIssue,
  type ClusterHiveOptions,
  type ClusterHost,
  type ParseClusterOptions,
} from './types.js';
import { queenFlagsOf, queenOptionsProblem } from './queen-options.js';
import { describeIssue, formatPath, locate, unclosedHint, type Seg } from './yaml-location.js';

/*
 * Parsing a cluster file gives a frozen, fully resolved ClusterConfig or throws
 * ApiaryError('CONFIG_INVALID') naming file:line:column, the field path and what was expected.
 */

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
  const queenProblem = queenOptionsProblem(queenFlagsOf(f.queen, (p) => p));
  if (queenProblem) problem(['queen'], `the queen refuses these options together: ${queenProblem}`);
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
      flags: queenFlagsOf(f.queen, local),
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

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
