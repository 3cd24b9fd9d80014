import type { ClusterConfig, ClusterHost } from '@apiary/config';
import type { HostSpec } from './provision.js';

/** cluster.yaml hosts as the provisioner and the SSH layer take them. */
export function hostSpecs(cfg: ClusterConfig, only?: string): HostSpec[] {
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
    queenWs: h.queenAddress ? `ws://${h.queenAddress.includes(':') ? `[${h.queenAddress}]` : h.queenAddress}:${cfg.queen.port}/v1/hive` : cfg.queen.hiveUrl,
  }));
}
