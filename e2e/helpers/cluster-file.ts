import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FakePis } from './fakepi.js';

/** The hives' grace period in these cluster files: a hive told to stop exits within it. */
export const CLUSTER_HIVE_GRACE_MS = 1000;

/**
 * A cluster.yaml for fake Pis: each host reaches the queen on its own veth address. The queen's port
 * is 0 (any free port: the keeper tells the hives the port the queen bound), so two test runs at
 * once never race for one; `port` sets one anyway.
 */
export function writeClusterFile(
  dir: string,
  pis: FakePis,
  o: { port?: number; key?: string; knownHosts?: string; setup?: string[]; hosts?: number[]; perHost?: Record<number, Record<string, string>> } = {},
): string {
  const hosts = (o.hosts ?? pis.hosts.map((h) => h.index)).map((k) => pis.hosts[k - 1]!);
  const yaml = [
    'cluster: fakepis',
    'queen:',
    `  address: ${hosts[0]!.hostSideAddress}`,
    `  port: ${o.port ?? 0}`,
    '  listen: 0.0.0.0',
    'defaults:',
    '  user: root',
    `  key: ${o.key ?? pis.keyPath}`,
    `  known_hosts: ${o.knownHosts ?? pis.knownHostsPath}`,
    '  bees: 1',
    '  memory_per_bee: 256MiB',
    'hive:',
    `  grace: ${CLUSTER_HIVE_GRACE_MS}ms`,
    ...(o.setup ? ['setup_commands:', ...o.setup.map((c) => `  - ${JSON.stringify(c)}`)] : []),
    'hosts:',
    ...hosts.flatMap((h) => [
      `  - name: ${h.name}`,
      `    address: ${h.address}`,
      `    queen_address: ${h.hostSideAddress}`,
      ...(o.perHost?.[h.index]?.install_dir ? [] : [`    install_dir: ${h.installDir}`]),
      `    home: ${h.home}`,
      ...Object.entries(o.perHost?.[h.index] ?? {}).map(([k, v]) => `    ${k}: ${v}`),
    ]),
  ].join('\n');
  const file = path.join(dir, 'cluster.yaml');
  writeFileSync(file, yaml + '\n');
  return file;
}
