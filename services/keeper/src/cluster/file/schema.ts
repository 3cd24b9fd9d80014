import net from 'node:net';
import { z } from 'zod';
import { formatBytes, MIN_MEMORY_PER_BEE, parseDuration, parseSize } from '@apiary/config';
import { queenOptionFields } from './queen-options.js';

/*
 * The schema of a cluster file (`keeper cluster up [cluster.yaml]`), field by field, with the
 * rules that keep values which later reach a remote shell free of anything a shell interprets.
 * Every message is the "expected …" half of an error; parse.ts adds the file, line, field
 * path and the value that was found.
 */

/** A name: cluster names and host names (host names also name the hive). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A remote login name, as useradd accepts by default. */
export const USER_RE = /^[a-z_][a-z0-9_-]*$/;
/** A DNS host name: letters, digits, dots and dashes; no label starts or ends with a dash. */
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Characters allowed in a remote path: no space, quote, `$`, backtick, `;`, `|`, `&`, `*`, … */
const REMOTE_PATH_CHARS_RE = /^[A-Za-z0-9._/~+-]+$/;
/** Label keys: like Kubernetes label names, without the prefix. */
export const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * An IPv4 or IPv6 literal, or a host name made of [A-Za-z0-9.-]. Nothing else gets through: the
 * value reaches ssh, known_hosts and URLs, and must not start with `-` (an option to a command).
 */
export function isSafeAddress(s: string): boolean {
  if (net.isIPv4(s)) return true;
  // IPv6, optionally with a zone (fe80::1%eth0); the zone is checked too, it is free text otherwise.
  if (s.includes(':')) return net.isIPv6(s) && /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/.test(s);
  // "10.0.0.300" is a hostname by the letter of the rule and a typo in practice.
  if (/^[0-9.]+$/.test(s)) return false;
  return HOSTNAME_RE.test(s);
}

/**
 * A path on a remote host: absolute, or `~/…` (resolved on the remote host, against the remote
 * user's home), made only of [A-Za-z0-9._/~+-]. Paths with spaces or any shell metacharacter are
 * refused rather than quoted.
 */
export function isSafeRemotePath(s: string): boolean {
  return (s.startsWith('/') || s.startsWith('~/')) && REMOTE_PATH_CHARS_RE.test(s) && !s.split('/').includes('..');
}

// ---- field schemas: every check of a field carries the same "expected …" message ----

const E = {
  clusterName: 'expected a cluster name: letters, digits, dot, dash, underscore (at most 64), starting with a letter or digit',
  hostName: 'expected a host name: letters, digits, dot, dash, underscore (at most 64), starting with a letter or digit',
  address: 'expected an IPv4 or IPv6 address, or a hostname made of letters, digits, dots and dashes',
  port: 'expected an integer from 1 to 65535',
  queenPort: 'expected an integer from 0 to 65535 (0: any free port, chosen when the queen starts)',
  user: 'expected a user name matching ^[a-z_][a-z0-9_-]*$ (at most 32 characters)',
  localPath: "expected a path on this machine (relative to the cluster file's directory; ~/ is your home; ~user/ is not supported)",
  remotePath: 'expected an absolute path or one starting with ~/, made only of letters, digits and . _ / ~ + - (no spaces, quotes or shell characters, no ..)',
  bees: 'expected an integer from 1 to 256',
  memoryPerBee: `expected a size of at least ${formatBytes(MIN_MEMORY_PER_BEE)}, e.g. 800MB or 1GiB`,
  reserveMemory: 'expected a size, e.g. 512MB or 1GiB',
  labels: 'expected a mapping of label names to strings, e.g. { rack: a, gpu: "no" }',
  labelKey: 'expected a label name: letters, digits, dot, dash, underscore (at most 63), starting with a letter or digit',
  labelValue: 'expected a string of at most 256 characters without control characters (quote numbers and booleans: "1", "no")',
  setupCommand: 'expected a one-line shell command (a string without newlines or NUL)',
  setupCommands: 'expected a list of shell commands',
  fileMounts: 'expected a mapping of remote path: local path',
  hosts: 'expected a list of at least one host',
  host: 'expected a host: a mapping with at least name and address',
  queen: "expected a mapping with the queen's address and port",
  defaults: 'expected a mapping of defaults for every host',
  hive: 'expected a mapping of hive options',
  taskTimeout: 'expected a duration from 10ms to 24h, e.g. 30s, 500ms or 2m',
  grace: 'expected a duration of at most 10m, e.g. 5s',
  heartbeatMs: 'expected an integer number of milliseconds from 50 to 60000',
  memoryPollMs: 'expected an integer number of milliseconds from 10 to 10000',
  root: 'expected a mapping with cluster, queen and hosts',
} as const;

function str(expected: string, ok: (s: string) => boolean) {
  return z.string({ error: expected }).refine(ok, { error: expected });
}

function int(expected: string, min: number, max: number) {
  return z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

function size(expected: string, min: number) {
  return z.union([z.string(), z.number()], { error: expected }).transform((v, ctx) => {
    try {
      const n = parseSize(v);
      if (n >= min) return n;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: expected });
    return z.NEVER;
  });
}

function duration(expected: string, min: number, max: number) {
  return z.union([z.string(), z.number()], { error: expected }).transform((v, ctx) => {
    try {
      const n = parseDuration(v);
      if (n >= min && n <= max) return n;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: expected });
    return z.NEVER;
  });
}

/** An empty section (`defaults:` with nothing under it) is the same as no section. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

const name = (expected: string) => str(expected, (s) => s.length <= 64 && NAME_RE.test(s));
const address = str(E.address, isSafeAddress);
const port = int(E.port, 1, 65535);
const user = str(E.user, (s) => s.length <= 32 && USER_RE.test(s));
const localPath = str(E.localPath, (s) => s.length > 0 && !s.includes('\0') && !/^~[^/]/.test(s));
const remotePath = str(E.remotePath, isSafeRemotePath);
const labels = z.record(
  str(E.labelKey, (s) => LABEL_KEY_RE.test(s)),
  str(E.labelValue, (s) => s.length <= 256 && !CONTROL_RE.test(s)),
  { error: E.labels },
);

/** Fields a host may set itself or inherit from `defaults`. */
const hostFields = {
  user: user.optional(),
  port: port.optional(),
  key: localPath.optional(),
  known_hosts: localPath.optional(),
  install_dir: remotePath.optional(),
  home: remotePath.optional(),
  bees: int(E.bees, 1, 256).optional(),
  memory_per_bee: size(E.memoryPerBee, MIN_MEMORY_PER_BEE).optional(),
  labels: section(labels),
};

export const DefaultsSchema = z.strictObject(hostFields, { error: E.defaults });

export const HostSchema = z.strictObject(
  {
    name: name(E.hostName),
    address,
    /** The queen's address as this host sees it, when it differs from queen.address (multi-homed networks). */
    queen_address: address.optional(),
    ...hostFields,
  },
  { error: E.host },
);

export const QueenSchema = z.strictObject(
  {
    address,
    port: int(E.queenPort, 0, 65535).optional(),
    listen: address.optional(),
    /** A certificate and key (PEM) for the queen's https/wss, instead of the one it makes itself. */
    tls_cert: localPath.optional(),
    tls_key: localPath.optional(),
    /** Queen options (hive_timeout, data_root, keep_versions, …): see queen-options.ts. */
    ...queenOptionFields(localPath),
  },
  { error: E.queen },
);

export const ClusterHiveSchema = z.strictObject(
  {
    task_timeout: duration(E.taskTimeout, 10, 86_400_000).optional(),
    grace: duration(E.grace, 0, 600_000).optional(),
    heartbeat_ms: int(E.heartbeatMs, 50, 60_000).optional(),
    memory_poll_ms: int(E.memoryPollMs, 10, 10_000).optional(),
    reserve_memory: size(E.reserveMemory, 0).optional(),
  },
  { error: E.hive },
);

export const ClusterFileSchema = z.strictObject(
  {
    cluster: name(E.clusterName),
    queen: QueenSchema,
    defaults: section(DefaultsSchema),
    hosts: z.array(HostSchema, { error: E.hosts }).min(1, { error: E.hosts }),
    setup_commands: section(
      z.array(
        str(E.setupCommand, (s) => !/[\0\n\r]/.test(s) && s.trim().length > 0),
        { error: E.setupCommands },
      ),
    ),
    file_mounts: section(z.record(str(E.remotePath, isSafeRemotePath), localPath, { error: E.fileMounts })),
    hive: section(ClusterHiveSchema),
  },
  { error: E.root },
);

/** The cluster file as written (snake_case keys, sizes and durations already in bytes and ms). */
export type ClusterFile = z.output<typeof ClusterFileSchema>;
