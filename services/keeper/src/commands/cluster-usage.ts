// Kept apart from the cluster command so `keeper help` need not load ssh2 and the SSH code.
export const CLUSTER_USAGE = `keeper cluster up [cluster.yaml] [--accept-new-host-keys] [--join-timeout 30s]
keeper cluster down [cluster.yaml]
keeper cluster status [cluster.yaml]
keeper cluster exec [cluster.yaml] [--host NAME] -- CMD…
keeper cluster logs [cluster.yaml] HOST [--lines N] [--follow]
  Provision, start, inspect and stop hives on the hosts of a cluster file (see cluster.example.yaml).`;
