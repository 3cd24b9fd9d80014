import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ApiaryError } from '@apiary/protocol';
import { parseDuration, parseSize, formatBytes } from './units.js';
import { apiaryHome } from './paths.js';
import { normalizeFingerprint } from './tls-pin.js';
import { optionsOf, type FlagTable, type FlagValues } from './flags.js';
import { beeSizing, MIN_MEMORY_PER_BEE } from './bee-sizing.js';

export interface HiveOptions {
  queenUrl: string;
  joinToken: string;
  name?: string;
  bees?: number;
  memoryPerBee?: string | number;
  /** Memory kept for the OS, the hive and the queen when the budget is derived. */
  reserveMemory?: string | number;
  taskTimeout?: string | number;
  heartbeatMs?: number;
  memoryPollMs?: number;
  graceMs?: number;
  cacheDir?: string;
  /** Ephemeral hives exit (killing their bees) when the queen connection closes. */
  ephemeral?: boolean;
  /** auto: fetch cells over HTTP only when the queen's data root is not visible here. */
  fetchCells?: 'auto' | 'always' | 'never';
  /** Disk kept for fetched cells (LRU). */
  cellCache?: string | number;
  /** SHA-256 of the queen's TLS certificate: a wss:// queen must present exactly it (pinned). */
  queenFingerprint?: string;
}

export interface HiveConfig {
  readonly queenUrl: string;
  readonly joinToken: string;
  readonly name: string;
  readonly bees: number;
  readonly memoryPerBeeBytes: number;
  readonly taskTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly memoryPollMs: number;
  readonly graceMs: number;
  readonly cacheDir: string;
  readonly ephemeral: boolean;
  readonly fetchCells: 'auto' | 'always' | 'never';
  readonly cellCacheBytes: number;
  /** Pinned queen certificate (normalised fingerprint), or undefined (ws://, or wss:// checked against the CAs). */
  readonly queenFingerprint?: string;
}

const BEES_RANGE = 'must be a whole number from 1 to 256';

const Schema = z.object({
  queenUrl: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  joinToken: z.string().min(16, 'must be at least 16 characters'),
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dot, dash, underscore'),
  bees: z.number({ error: BEES_RANGE }).int(BEES_RANGE).min(1, BEES_RANGE).max(256, BEES_RANGE),
  memoryPerBeeBytes: z
    .number()
    .int()
    .min(MIN_MEMORY_PER_BEE, `is below the floor of ${formatBytes(MIN_MEMORY_PER_BEE)} (a bee needs ~120 MiB just for Node and DuckDB)`),
  taskTimeoutMs: z.number().int().min(10, 'must be at least 10ms').max(86_400_000, 'must be at most 1 day'),
  heartbeatMs: z.number().int().min(50).max(60_000),
  memoryPollMs: z.number().int().min(10).max(10_000),
  graceMs: z.number().int().min(0).max(600_000, 'must be at most 10 minutes'),
  cacheDir: z.string().min(1),
  ephemeral: z.boolean(),
  fetchCells: z.enum(['auto', 'always', 'never']),
  cellCacheBytes: z
    .number()
    .int()
    .min(16 * 1024 * 1024, 'must be at least 16 MiB'),
  queenFingerprint: z.string().optional(),
});

export function resolveHiveConfig(o: HiveOptions): HiveConfig {
  const { bees, memoryPerBeeBytes } = beeSizing(o);
  const candidate = {
    queenUrl: o.queenUrl,
    joinToken: o.joinToken,
    name: o.name ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-'),
    bees,
    memoryPerBeeBytes,
    taskTimeoutMs: o.taskTimeout === undefined ? 30_000 : parseDuration(o.taskTimeout, 'task timeout'),
    heartbeatMs: o.heartbeatMs ?? 1000,
    memoryPollMs: o.memoryPollMs ?? 100,
    graceMs: o.graceMs ?? 5000,
    cacheDir: path.resolve(o.cacheDir ?? path.join(apiaryHome(), 'cache')),
    ephemeral: o.ephemeral ?? false,
    fetchCells: o.fetchCells ?? 'auto',
    cellCacheBytes: o.cellCache === undefined ? 2 * 1024 ** 3 : parseSize(o.cellCache, 'cell cache'),
    ...(o.queenFingerprint ? { queenFingerprint: normalizeFingerprint(o.queenFingerprint, 'hive config: queen fingerprint') } : {}),
  };
  const r = Schema.safeParse(candidate);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ApiaryError('CONFIG_INVALID', `hive config: ${i?.path.join('.')} ${i?.message}`);
  }
  return Object.freeze(r.data);
}

/**
 * apiary-hive's command line (and, keyed the same, its --config JSON file): one row per flag.
 * Rows with `option` set a HiveOptions field; the rest are the process's own.
 */
export const HIVE_FLAGS = {
  queen: { kind: 'string', arg: 'ws://host:port/v1/hive', option: 'queenUrl' },
  name: { kind: 'string', arg: 'N', option: 'name' },
  bees: { kind: 'int', arg: 'N', option: 'bees' },
  'memory-per-bee': { kind: 'size', arg: '512MB', option: 'memoryPerBee' },
  timeout: { kind: 'duration', arg: '30s', option: 'taskTimeout' },
  'cache-dir': { kind: 'string', arg: 'DIR', option: 'cacheDir' },
  grace: { kind: 'duration', arg: '5s', option: 'graceMs' },
  'memory-poll': { kind: 'duration', arg: '100ms', option: 'memoryPollMs' },
  'reserve-memory': { kind: 'size', arg: '512MB', option: 'reserveMemory' },
  'fetch-cells': { kind: 'string', arg: 'auto|always|never', option: 'fetchCells' },
  'cell-cache': { kind: 'size', arg: '2GiB', option: 'cellCache' },
  'queen-fingerprint': { kind: 'string', arg: 'SHA256', option: 'queenFingerprint' },
  ephemeral: { kind: 'boolean', option: 'ephemeral' },
  'exit-with-stdin': { kind: 'boolean' },
  'token-file': { kind: 'string', arg: 'PATH' },
  config: { kind: 'string', arg: 'FILE' },
  'log-format': { kind: 'string', arg: 'json|pretty' },
  'log-file': { kind: 'string', arg: 'FILE' },
} as const satisfies FlagTable;

export type HiveArgs = FlagValues<typeof HIVE_FLAGS>;

/** HiveOptions from parsed flags; the join token comes from elsewhere (env or a 0600 file, never argv). */
export function hiveOptionsFromArgs(a: HiveArgs, joinToken: string, queenUrl: string): HiveOptions {
  return { ...(optionsOf(HIVE_FLAGS, a) as Partial<HiveOptions>), queenUrl, joinToken };
}

type Checked = 'bees' | 'memoryPerBeeBytes' | 'taskTimeoutMs' | 'graceMs';

/** Why one value breaks the schema's bounds, or null: a caller (the keeper) checks flags before it starts anything. */
export function hiveOptionProblem(field: Checked, value: number): string | null {
  const r = Schema.shape[field].safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'out of range');
}
