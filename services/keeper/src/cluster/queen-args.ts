import type { QueenArgs } from '@apiary/config';
import type { ClusterConfig } from './file/index.js';

/**
 * The flags of the queen daemon `keeper cluster up` starts for a cluster: where it binds, no local
 * hive, the hives' grace, TLS naming every address the hives dial (bound beyond loopback it serves
 * https/wss), and the queen options of the file's queen section.
 */
export function clusterQueenArgs(cfg: ClusterConfig): QueenArgs {
  const tlsNames = [cfg.queen.address, ...cfg.hosts.flatMap((h) => (h.queenAddress ? [h.queenAddress] : []))];
  return {
    ...cfg.queen.flags,
    host: cfg.queen.listen,
    port: cfg.queen.port,
    'no-local-hive': true,
    grace: cfg.hive.graceMs,
    'tls-cert': cfg.queen.tlsCert,
    'tls-key': cfg.queen.tlsKey,
    'tls-name': tlsNames,
  };
}
