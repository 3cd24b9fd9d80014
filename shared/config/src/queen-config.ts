import path from 'node:path';
import { z } from 'zod';
import { ApiaryError } from '@apiary/protocol';
import { apiaryHome } from './paths.js';
import { HIVE_FLAGS, type HiveOptions } from './hive-config.js';
import { omitFlags, optionsOf, pickFlags, type FlagTable, type FlagValues } from './flags.js';

/** Options for the hive the queen starts itself (same machine). Token and URL are filled in by the queen. */
export type LocalHiveOptions = Omit<HiveOptions, 'queenUrl' | 'joinToken' | 'ephemeral'> & {
  /** How the hive logs (its --log-format), and where (its --log-file; default stderr, the queen's). */
  logFormat?: 'json' | 'pretty';
  logFile?: string;
};

export interface QueenOptions {
  host?: string;
  port?: number;
  ephemeral?: boolean;
  clientToken: string;
  joinToken: string;
  /** Start a hive on this machine; false for a queen that only accepts remote hives. */
  localHive?: LocalHiveOptions | false;
  graceMs?: number;
  /** A hive silent this long is HIVE_LOST. */
  hiveTimeoutMs?: number;
  heartbeatMs?: number;
  maxBodyBytes?: number;
  home?: string;
  /**
   * Where frames' cells live. Default: daemon `<home>/data`; ephemeral `<cache dir>/../data` when
   * the local hive has a cache dir, else a temp dir the queen removes when it stops.
   */
  dataRoot?: string;
  /** Floor of the leafcutter cell size (default 16 MiB; tests use less). */
  minCellBytes?: number;
  /** Target cell size instead of memory per bee / 4 (tests and tuning); at least minCellBytes. */
  cellBytes?: number;
  /** Versions of each frame kept after a write or vacuum (default 2); older ones' cells are deleted. */
  keepVersions?: number;
  /** Retention of finished tasks (daemon ledger): prune those finished longer ago than this (default 7 days). */
  retentionMaxAgeMs?: number;
  /** … and keep at most this many finished tasks (default 100,000). */
  retentionMaxTasks?: number;
  /** How often retention runs (default 60 s). */
  retentionIntervalMs?: number;
  /** Opt-in listener serving GET /metrics without a token (for a local scraper); needs metricsPort. */
  metricsHost?: string;
  metricsPort?: number;
}

export interface QueenConfig {
  readonly host: string;
  readonly port: number;
  readonly ephemeral: boolean;
  readonly clientToken: string;
  readonly joinToken: string;
  readonly localHive: Readonly<LocalHiveOptions> | false;
  readonly graceMs: number;
  readonly hiveTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly maxBodyBytes: number;
  readonly home: string;
  /** Absolute; null for an ephemeral queen with no cache dir (it makes a temp dir). */
  readonly dataRoot: string | null;
  readonly minCellBytes?: number;
  readonly cellBytes?: number;
  readonly keepVersions: number;
  readonly retentionMaxAgeMs: number;
  readonly retentionMaxTasks: number;
  readonly retentionIntervalMs: number;
  /** The tokenless metrics listener, when asked for (host defaults to 127.0.0.1). */
  readonly metrics: { readonly host: string; readonly port: number } | null;
}

/** Retention defaults, as README states them: a week, 100,000 finished tasks, checked every minute. */
export const RETENTION_DEFAULTS = { maxAgeMs: 7 * 86_400_000, maxTasks: 100_000, intervalMs: 60_000 } as const;

/** Frame versions kept by default: the current one and the one before it (README states it). */
export const KEEP_VERSIONS_DEFAULT = 2;

const Schema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  ephemeral: z.boolean(),
  clientToken: z.string().min(16, 'must be at least 16 characters'),
  joinToken: z.string().min(16, 'must be at least 16 characters'),
  localHive: z.union([z.literal(false), z.record(z.string(), z.unknown())]),
  graceMs: z.number().int().min(0).max(600_000),
  hiveTimeoutMs: z.number().int().min(100).max(600_000),
  heartbeatMs: z.number().int().min(50).max(60_000),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3),
  home: z.string().min(1),
  dataRoot: z.string().min(1).nullable(),
  minCellBytes: z.number().int().min(1).optional(),
  cellBytes: z.number().int().min(1).optional(),
  keepVersions: z.number().int().min(1).max(1_000_000),
  retentionMaxAgeMs: z
    .number()
    .int()
    .min(0)
    .max(3650 * 86_400_000),
  retentionMaxTasks: z.number().int().min(0).max(1_000_000_000),
  retentionIntervalMs: z.number().int().min(100).max(86_400_000),
  metrics: z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).nullable(),
});

/** The bounds of the QueenOptions a caller may check before it starts a queen (keeper: cluster.yaml's queen section). */
const OPTION_BOUNDS = {
  hiveTimeoutMs: Schema.shape.hiveTimeoutMs,
  dataRoot: Schema.shape.dataRoot,
  minCellBytes: Schema.shape.minCellBytes,
  cellBytes: Schema.shape.cellBytes,
  keepVersions: Schema.shape.keepVersions,
  retentionMaxAgeMs: Schema.shape.retentionMaxAgeMs,
  retentionMaxTasks: Schema.shape.retentionMaxTasks,
  retentionIntervalMs: Schema.shape.retentionIntervalMs,
  metricsHost: Schema.shape.metrics.unwrap().shape.host,
  metricsPort: Schema.shape.metrics.unwrap().shape.port,
} as const satisfies { [K in keyof QueenOptions]?: z.ZodType };

/** Why one option value breaks the queen's bounds, or null (same schema as resolveQueenConfig). */
export function queenOptionProblem(field: keyof typeof OPTION_BOUNDS, value: unknown): string | null {
  const r = OPTION_BOUNDS[field].safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'out of range');
}

export function resolveQueenConfig(o: QueenOptions): QueenConfig {
  const candidate = {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 7474,
    ephemeral: o.ephemeral ?? false,
    clientToken: o.clientToken,
    joinToken: o.joinToken,
    localHive: o.localHive === undefined ? {} : o.localHive,
    graceMs: o.graceMs ?? 5000,
    hiveTimeoutMs: o.hiveTimeoutMs ?? 3000,
    heartbeatMs: o.heartbeatMs ?? 1000,
    maxBodyBytes: o.maxBodyBytes ?? 10 * 1024 * 1024,
    home: path.resolve(o.home ?? apiaryHome()),
    dataRoot: defaultDataRoot(o),
    minCellBytes: o.minCellBytes,
    cellBytes: o.cellBytes,
    keepVersions: o.keepVersions ?? KEEP_VERSIONS_DEFAULT,
    retentionMaxAgeMs: o.retentionMaxAgeMs ?? RETENTION_DEFAULTS.maxAgeMs,
    retentionMaxTasks: o.retentionMaxTasks ?? RETENTION_DEFAULTS.maxTasks,
    retentionIntervalMs: o.retentionIntervalMs ?? RETENTION_DEFAULTS.intervalMs,
    metrics: o.metricsPort === undefined ? null : { host: o.metricsHost ?? '127.0.0.1', port: o.metricsPort },
  };
  const r = Schema.safeParse(candidate);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ApiaryError('CONFIG_INVALID', `queen config: ${i?.path.join('.')} ${i?.message}`);
  }
  if (o.metricsHost !== undefined && o.metricsPort === undefined) {
    throw new ApiaryError('CONFIG_INVALID', 'queen config: metrics host given without a metrics port (--metrics-port)');
  }
  if (r.data.cellBytes !== undefined && r.data.minCellBytes !== undefined && r.data.cellBytes < r.data.minCellBytes) {
    throw new ApiaryError('CONFIG_INVALID', `queen config: cell size ${r.data.cellBytes} is below the minimum cell size ${r.data.minCellBytes}`);
  }
  const localHive = r.data.localHive === false ? false : Object.freeze({ ...(o.localHive || {}) });
  return Object.freeze({ ...r.data, localHive });
}

function defaultDataRoot(o: QueenOptions): string | null {
  if (o.dataRoot) return path.resolve(o.dataRoot);
  if (!o.ephemeral) return path.join(path.resolve(o.home ?? apiaryHome()), 'data');
  const cache = o.localHive ? o.localHive.cacheDir : undefined;
  return cache ? path.join(path.dirname(path.resolve(cache)), 'data') : null;
}

/** The hive flags a queen takes for its local hive and passes on (--grace also sets its own grace). */
export const LOCAL_HIVE_FLAGS = pickFlags(HIVE_FLAGS, ['bees', 'memory-per-bee', 'timeout', 'grace', 'memory-poll', 'cache-dir']);

/**
 * apiary-queen's command line: one row per flag. Rows with `option` set a QueenOptions field; the
 * local hive's rows are HIVE_FLAGS' own; the rest are the process's (tokens never come by argv).
 */
export const QUEEN_FLAGS = {
  home: { kind: 'string', arg: 'DIR' },
  host: { kind: 'string', arg: 'H', option: 'host' },
  port: { kind: 'int', arg: 'P', option: 'port' },
  ephemeral: { kind: 'boolean', option: 'ephemeral' },
  'exit-with-stdin': { kind: 'boolean' },
  'no-local-hive': { kind: 'boolean' },
  ...LOCAL_HIVE_FLAGS,
  'hive-timeout': { kind: 'duration', arg: '3s', option: 'hiveTimeoutMs' },
  'data-root': { kind: 'string', arg: 'DIR', option: 'dataRoot' },
  'min-cell-bytes': { kind: 'size', arg: 'SIZE', option: 'minCellBytes' },
  'cell-bytes': { kind: 'size', arg: 'SIZE', option: 'cellBytes' },
  'keep-versions': { kind: 'int', arg: 'N', option: 'keepVersions' },
  'tls-cert': { kind: 'string', arg: 'PEM' },
  'tls-key': { kind: 'string', arg: 'PEM' },
  'tls-name': { kind: 'list', arg: 'NAME' },
  'retain-for': { kind: 'duration', arg: '7d', option: 'retentionMaxAgeMs' },
  'retain-tasks': { kind: 'int', arg: 'N', option: 'retentionMaxTasks' },
  'prune-every': { kind: 'duration', arg: '60s', option: 'retentionIntervalMs' },
  'metrics-host': { kind: 'string', arg: '127.0.0.1', option: 'metricsHost' },
  'metrics-port': { kind: 'int', arg: 'P', option: 'metricsPort' },
  'log-format': { kind: 'string', arg: 'json|pretty' },
  'log-file': { kind: 'string', arg: 'FILE' },
} as const satisfies FlagTable;

export type QueenArgs = FlagValues<typeof QUEEN_FLAGS>;

/** What the queen's process supplies beside its flags: home, tokens (env or 0600 files) and log settings. */
export interface QueenProcessContext {
  home: string;
  clientToken: string;
  joinToken: string;
  /** The local hive's cache dir when --cache-dir is not given (a daemon's is under APIARY_HOME). */
  defaultCacheDir?: string;
  logFormat: 'json' | 'pretty';
  /** The local hive's own log file, if the queen writes one. */
  hiveLogFile?: string;
}

/** QueenOptions from parsed flags (resolveQueenConfig then applies defaults and bounds). */
export function queenOptionsFromArgs(a: QueenArgs, ctx: QueenProcessContext): QueenOptions {
  const localHive: LocalHiveOptions | false = a['no-local-hive']
    ? false
    : {
        ...(optionsOf(LOCAL_HIVE_FLAGS, a) as LocalHiveOptions),
        cacheDir: a['cache-dir'] ?? ctx.defaultCacheDir,
        logFormat: ctx.logFormat,
        logFile: ctx.hiveLogFile,
      };
  // The local hive's rows set HiveOptions fields; of them only --grace is the queen's too.
  const own = optionsOf(omitFlags(QUEEN_FLAGS, Object.keys(LOCAL_HIVE_FLAGS) as (keyof typeof LOCAL_HIVE_FLAGS)[]), a) as Partial<QueenOptions>;
  return { ...own, graceMs: a.grace, home: ctx.home, clientToken: ctx.clientToken, joinToken: ctx.joinToken, localHive };
}
