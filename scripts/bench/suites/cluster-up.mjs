// Time for `keeper cluster up` on 3 fake Pis (network namespaces with real sshd): from nothing to all
// hives joined (with the install archive built here first, then with it cached), a second `up` with
// nothing to change (goal: <= 2 s for 3 hosts), and `cluster down`. Needs root, sshd and ip.
// Baselines, same run: one `ssh host true` to each host in parallel (an SSH round trip), and a bare
// parallel transfer of the same bytes `up` sends (`ssh host 'cat > /dev/null' < archive`).
// Goal (issue 14): up from nothing <= 2x (bare transfer + one round trip).

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KEEPER_BIN, NODE, REPO_ROOT, makeTempDir, median, removeTempDir, round, runCommand, timeCommand } from '../lib.mjs';

export const name = 'cluster-up';
export const description = '`keeper cluster up` / `down` on 3 fake Pis over real SSH';
export const order = 60;
export const timeoutMs = 15 * 60_000; // a loaded machine makes each `up` tens of seconds

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

export async function run(ctx) {
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
    const sshArgs = (k) => ['-i', `${dir}/id_ed25519`, '-o', `UserKnownHostsFile=${dir}/known_hosts`, '-o', 'BatchMode=yes', `root@10.${x}.${k}.2`];
    const hosts = Array.from({ length: N }, (_, i) => i + 1);
    const slowest = async (f) => Math.max(...(await Promise.all(hosts.map(f))).map((r) => r.wallMs));
    const sshMs = await slowest((k) => timeCommand('ssh', [...sshArgs(k), 'true'], { timeoutMs: 30_000 }));
    ctx.log(`ssh round trip ${round(sshMs, 0)} ms; cluster up (cold)…`);
    const cold = await keeper(['cluster', 'up', file]);
    ctx.log(`cold up ${round(cold.wallMs, 0)} ms; no-change ups…`);
    const again = [];
    for (let i = 0; i < 3; i++) again.push((await keeper(['cluster', 'up', file])).wallMs);
    // From nothing again, with the archive already built here: every host wiped, no daemon.
    await keeper(['cluster', 'down', file]);
    await keeper(['queen', 'stop']);
    for (const k of hosts) for (const d of ['opt', 'home']) rmSync(path.join(dir, `pi${k}`, d), { recursive: true, force: true });
    ctx.log(`no-change ups ${again.map((v) => round(v, 0)).join(', ')} ms; hosts wiped, cluster up (archive cached)…`);
    const warm = await keeper(['cluster', 'up', file]);
    const down = await keeper(['cluster', 'down', file]);
    // The bytes `up` sent each host: the cached archive layers (the per-host part is ~1 KB).
    const cache = path.join(home, 'cache', 'install');
    const layers = readdirSync(cache)
      .filter((f) => f.endsWith('.tgz'))
      .map((f) => path.join(cache, f));
    const bytes = layers.reduce((n, f) => n + readFileSync(f).length, 0);
    const cat = layers.map((f) => `'${f}'`).join(' ');
    const xferMs = await slowest((k) =>
      timeCommand(
        'bash',
        [
          '-c',
          `cat ${cat} | ssh ${sshArgs(k)
            .map((a) => `'${a}'`)
            .join(' ')} 'cat > /dev/null'`,
        ],
        { timeoutMs: 120_000 },
      ),
    );
    const base = xferMs + sshMs;
    const noChange = median(again);
    return [
      {
        metric: `cluster up, ${N} hosts from nothing to joined (archive cached here)`,
        value: round(warm.wallMs, 0),
        unit: 'ms',
        baseline: round(base, 0),
        ratio: round(warm.wallMs / base, 2),
        note: 'baseline: bare parallel transfer + one ssh round trip; goal <= 2x; includes starting the queen',
        ok: warm.stdout.includes(`${N}/${N} host(s) up`),
      },
      {
        metric: `cluster up, ${N} hosts from nothing, archive built first`,
        value: round(cold.wallMs, 0),
        unit: 'ms',
        baseline: round(base, 0),
        ratio: round(cold.wallMs / base, 2),
        note: 'a fresh APIARY_HOME: gzips the install set once per arch',
      },
      {
        metric: 'cluster up again (nothing changed), median of 3',
        value: round(noChange, 0),
        unit: 'ms',
        baseline: 2000,
        ratio: round(noChange / 2000, 2),
        note: `goal <= 2000 ms; ${round(noChange / sshMs, 1)}x one ssh round trip`,
      },
      {
        metric: 'cluster down (stop + verify every host)',
        value: round(down.wallMs, 0),
        unit: 'ms',
        baseline: round(sshMs, 0),
        ratio: round(down.wallMs / sshMs, 1),
        ok: /no process of ours remains/.test(down.stdout),
      },
      { metric: `bare parallel transfer of the archive to ${N} hosts`, value: round(xferMs, 0), unit: 'ms', note: `${round(bytes / 1048576, 1)} MiB each` },
      { metric: `bare ssh true to ${N} hosts in parallel`, value: round(sshMs, 0), unit: 'ms' },
    ];
  } finally {
    await runCommand(NODE, [KEEPER_BIN, 'queen', 'stop'], { env, timeoutMs: 60_000 }).catch(() => undefined);
    await runCommand('bash', [FAKEPI, 'down', path.join(pis, 'fleet')], { timeoutMs: 60_000 }).catch(() => undefined);
    await removeTempDir(home);
    await removeTempDir(pis);
  }
}
