import type { ClusterQueenFlags } from './queen-options.js';

/*
 * The cluster file of `keeper cluster up [cluster.yaml]` as the keeper uses it: a frozen, fully
 * resolved ClusterConfig (parse.ts makes it; cluster.example.yaml at the repository root documents
 * every field).
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
  /** Queen options of the section (queen-options.ts), as flag values for the queen `cluster up` starts. */
  readonly flags: Readonly<ClusterQueenFlags>;
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
