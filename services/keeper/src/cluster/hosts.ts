import type { ClusterConfig, ClusterHost } from './file/index.js';
import { ApiaryError } from '@apiary/protocol';
import type { HostSpec } from './provision.js';

const hiveUrl = (address: string, port: number, secure: boolean) =>
  `${secure ? 'wss' : 'ws'}://${address.includes(':') ? `[${address}]` : address}:${port}/v1/hive`;

/**
 * The port the hives dial: `queen.port` as written, or, when it is 0 (any free port), the port of
 * the queen the hives will join, as its URL says (`queenUrl`: the daemon found or started, or the
 * ephemeral queen's ready line).
 */
export function hivePort(cfg: ClusterConfig, queenUrl: string): number {
  if (cfg.queen.port !== 0) return cfg.queen.port;
  const port = Number(new URL(queenUrl).port);
  if (!Number.isInteger(port) || port < 1)
    throw new ApiaryError('CONFIG_INVALID', `${cfg.source}: queen.port is 0, and the queen's URL ${queenUrl} names no port for the hives to dial`);
  return port;
}

/**
 * cluster.yaml hosts as the provisioner and the SSH layer take them; hives dial the queen on
 * `queenPort`, over wss when `secure` (the queen serves https: it listens beyond loopback).
 */
export function hostSpecs(cfg: ClusterConfig, only?: string, queenPort: number = cfg.queen.port, secure = false): HostSpec[] {
  const hosts = only ? cfg.hosts.filter((h) => h.name === only) : cfg.hosts;
  return hosts.map((h: ClusterHost) => ({
    name: h.name,
    address: h.address,
    port: h.port,
    user: h.user,
    keyPath: h.key,
    knownHostsPath: h.knownHosts,
    installDir: h.installDir,
    home: h.home,
    bees: h.bees,
    memoryPerBeeBytes: h.memoryPerBeeBytes,
    queenWs: hiveUrl(h.queenAddress ?? cfg.queen.address, queenPort, secure),
  }));
}
