// Time for `keeper cluster up` on 3 fake Pis (network namespaces with real sshd) from nothing to all
// hives joined, a second `up` with nothing to change, and `cluster down`. Needs root, sshd and ip.
// The baseline is the bare SSH cost: one `ssh host true` to each host, in parallel, same run.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KEEPER_BIN, NODE, REPO_ROOT, makeTempDir, removeTempDir, round, runCommand, timeCommand } from '../lib.mjs';

export const name = 'cluster-up';
export const description = '`keeper cluster up` / `down` on 3 fake Pis over real SSH';
export const order = 60;
export const timeoutMs = 5 * 60_000;

const FAKEPI = path.join(REPO_ROOT, 'scripts', 'fakepi.sh');
const N = 3;

// x: the fake-Pi run's id (fakepi.sh writes it to DIR/net): its hosts are 10.x.K.2. Queen port 0:
// any free port, which the hives are told.
function clusterYaml(dir, x) {
  const hosts = [];
  for (let k = 1; k <= N; k++) {
    hosts.push(
      `  - name: pi${k}`,
      `    address: 10.${x}.${k}.2`,
      `    queen_address: 10.${x}.${k}.1`,
      `    install_dir: ${dir}/pi${k}/opt`,
      `    home: ${dir}/pi${k}/home`,
    );
  }
  return (
    [
      'cluster: bench',
      'queen:',
      `  address: 10.${x}.1.1`,
      '  port: 0',
      '  listen: 0.0.0.0',
      'defaults:',
      '  user: root',
      `  key: ${dir}/id_ed25519`,
      `  known_hosts: ${dir}/known_hosts`,
      '  bees: 1',
      '  memory_per_bee: 256MiB',
      'hosts:',
      ...hosts,
    ].join('\n') + '\n'
  );
}

export async function run() {
  if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/sshd')) {
    return [{ metric: 'skipped', value: 0, unit: '', note: 'needs root and openssh-server (bash .ci/run installs it)' }];
  }
  const pis = await makeTempDir('apiary-bench-pis-');
  const home = await makeTempDir('apiary-bench-cluster-home-');
  const env = { ...process.env, APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn' };
  const keeper = (args, t = 180_000) => timeCommand(NODE, [KEEPER_BIN, ...args], { env, timeoutMs: t });
  try {
    // fakepi.sh refuses a non-empty dir it does not own: give it an empty subdir.
    const dir = path.join(pis, 'fleet');
    await timeCommand('bash', [FAKEPI, 'up', String(N), dir], { timeoutMs: 120_000 });
    const file = path.join(home, 'cluster.yaml');
    const x = readFileSync(path.join(dir, 'net'), 'utf8').trim();
    writeFileSync(file, clusterYaml(dir, x));
    const ssh = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        timeCommand(
          'ssh',
          ['-i', `${dir}/id_ed25519`, '-o', `UserKnownHostsFile=${dir}/known_hosts`, '-o', 'BatchMode=yes', `root@10.${x}.${i + 1}.2`, 'true'],
          { timeoutMs: 30_000 },
        ),
      ),
    );
    const sshMs = Math.max(...ssh.map((r) => r.wallMs));
    const first = await keeper(['cluster', 'up', file]);
    const again = await keeper(['cluster', 'up', file]);
    const down = await keeper(['cluster', 'down', file]);
    return [
      {
        metric: `cluster up, ${N} hosts from nothing to joined`,
        value: round(first.wallMs, 0),
        unit: 'ms',
        baseline: round(sshMs, 0),
        ratio: round(first.wallMs / sshMs, 1),
        note: 'includes starting the queen and uploading ~70 MB per host',
      },
      {
        metric: 'cluster up again (nothing changed)',
        value: round(again.wallMs, 0),
        unit: 'ms',
        baseline: round(sshMs, 0),
        ratio: round(again.wallMs / sshMs, 1),
      },
      {
        metric: 'cluster down (stop + verify every host)',
        value: round(down.wallMs, 0),
        unit: 'ms',
        baseline: round(sshMs, 0),
        ratio: round(down.wallMs / sshMs, 1),
        ok: /no process of ours remains/.test(down.stdout),
      },
      { metric: `bare ssh true to ${N} hosts in parallel`, value: round(sshMs, 0), unit: 'ms' },
    ];
  } finally {
    await runCommand(NODE, [KEEPER_BIN, 'queen', 'stop'], { env, timeoutMs: 60_000 }).catch(() => undefined);
    await runCommand('bash', [FAKEPI, 'down', path.join(pis, 'fleet')], { timeoutMs: 60_000 }).catch(() => undefined);
    await removeTempDir(home);
    await removeTempDir(pis);
  }
}
