import { parseDuration } from '@apiary/config';
import { loadClusterFile, type ClusterConfig } from '../cluster/file/index.js';
import { shellQuote } from '../cluster/shell.js';
import { onShutdownSignal } from '@apiary/runtime';
import type { ApiaryError } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { queenArgv, startDaemon } from '../daemon.js';
import { findQueen, joinTokenFor } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { columns } from '../status-view.js';
import { hivePort, hostSpecs } from '../cluster/hosts.js';
import { ProgressView } from '../cluster/progress.js';
import { forgetHosts, recordHosts, unchangedHive } from '../cluster/host-state.js';
import { provisionHost, type ClusterJob, type HostOutcome, type HostSpec } from '../cluster/provision.js';
import { remotePaths, tailLog } from '../cluster/remote-hive.js';
import { expandHome } from '../cluster/preflight.js';
import { clusterQueenArgs } from '../cluster/queen-args.js';
import { Ssh } from '../cluster/ssh.js';
import { downHost } from '../cluster/teardown.js';

export { CLUSTER_USAGE } from './cluster-usage.js';

const NOT_ALL_OK = 1;

function load(positionals: string[]): ClusterConfig {
  return loadClusterFile(positionals[0] ?? 'cluster.yaml');
}

/**
 * The queen the cluster's hives join: the one running here, or a daemon started for the cluster
 * (on queen.port; 0 lets it pick a free port). `port` is what the hives dial (see hivePort).
 */
async function clusterQueen(
  cfg: ClusterConfig,
  queenFlag: string | undefined,
): Promise<{ client: QueenClient; joinToken: string; port: number; secure: boolean; fingerprint?: string }> {
  let target = findQueen(queenFlag);
  if (!target) {
    const s = await startDaemon(queenArgv(clusterQueenArgs(cfg)));
    process.stdout.write(`started a queen for cluster ${cfg.name}: pid ${s.pid}, listening on ${s.url}\n`);
    target = findQueen(undefined)!;
  }
  const joinToken = joinTokenFor(target.url);
  return {
    client: new QueenClient(target.url, target.token),
    joinToken,
    port: hivePort(cfg, target.url),
    secure: target.url.startsWith('https:'),
    ...(target.fingerprint ? { fingerprint: target.fingerprint } : {}),
  };
}

export async function clusterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'status':
      return status(rest);
    case 'exec':
      return exec(rest);
    case 'logs':
      return logs(rest);
    default:
      throw new UsageError(`keeper cluster: expected up, down, status, exec or logs${sub ? `, not "${sub}"` : ''}`);
  }
}

async function up(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'accept-new-host-keys': { type: 'boolean' }, 'join-timeout': { type: 'string' }, queen: { type: 'string' } });
  const cfg = load(positionals);
  const { client, joinToken, port, secure, fingerprint } = await clusterQueen(cfg, values.queen);
  const job: ClusterJob = {
    setupCommands: cfg.setupCommands,
    fileMounts: cfg.fileMounts,
    hive: cfg.hive,
    joinToken,
    // The hives pin the queen's certificate: it travels with the join token, in their 0600 config.
    ...(fingerprint ? { queenFingerprint: fingerprint } : {}),
    mode: 'persistent',
    acceptNewHostKeys: values['accept-new-host-keys'] ?? false,
    joinTimeoutMs: values['join-timeout'] ? parseDuration(values['join-timeout'], '--join-timeout') : 30_000,
  };
  const hosts = hostSpecs(cfg, undefined, port, secure);
  const view = new ProgressView(hosts.map((h) => h.name));
  // A host whose joined hive we left there, with nothing to change, needs no SSH at all (host-state.ts).
  const hives = (await client.colony().catch(() => null))?.hives ?? [];
  const outcomes = await Promise.all(
    hosts.map(async (h): Promise<HostOutcome | { ok: true; unchanged: HostSpec; pid: number }> => {
      const pid = await unchangedHive(cfg.name, h, job, hives).catch(() => null);
      if (pid === null) return provisionHost(h, job, client, (e) => view.update(e));
      view.update({ host: h.name, step: 'join', state: 'ok', detail: `unchanged since the last up: hive pid ${pid} joined (no SSH needed)` });
      return { ok: true, unchanged: h, pid };
    }),
  );
  const provisioned = outcomes.filter((o): o is HostOutcome => !('unchanged' in o));
  for (const o of provisioned) if (o.ok) o.up.ssh.close();
  recordHosts(
    cfg.name,
    job,
    provisioned.flatMap((o) => (o.ok ? [o.up] : [])),
    provisioned.flatMap((o) => (o.ok ? [] : [o.host.name])),
  );
  // The queen's node registry remembers every host: when it was last seen up, and its last error.
  await Promise.all(
    outcomes.map((o) => {
      const h = cfg.hosts.find((x) => x.name === ('unchanged' in o ? o.unchanged.name : o.ok ? o.up.host.name : o.host.name))!;
      const rec = { name: h.name, address: h.address, port: h.port, user: h.user, keyPath: h.key, installDir: h.installDir, labels: { ...h.labels } };
      return client
        .putNode({ ...rec, lastSeen: o.ok ? Date.now() : null, lastError: o.ok ? null : `${o.error.code}: ${o.error.message}` })
        .catch(() => undefined);
    }),
  );
  const ok = outcomes.filter((o) => o.ok).length;
  process.stdout.write(`\ncluster ${cfg.name}: ${ok}/${hosts.length} host(s) up\n`);
  for (const o of provisioned)
    if (!o.ok) process.stdout.write(`  ${o.host.name}: failed at ${o.step}: ${o.error.code}: ${o.error.message.replace(`${o.host.name}: `, '')}\n`);
  return ok === hosts.length ? EXIT.OK : NOT_ALL_OK;
}

async function down(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { queen: { type: 'string' } });
  const cfg = load(positionals);
  const t = findQueen(values.queen);
  const client = t ? new QueenClient(t.url, t.token) : null;
  const results = await Promise.all(hostSpecs(cfg).map((h) => downHost(h, client, cfg.hive.graceMs ?? 5000)));
  forgetHosts(
    cfg.name,
    results.filter((r) => r.ok).map((r) => r.host),
  );
  for (const r of results) {
    process.stdout.write(r.ok ? `${r.host}: stopped (via ${r.via}); no process of ours remains\n` : `${r.host}: ${r.error.code}: ${r.error.message}\n`);
  }
  return results.every((r) => r.ok) ? EXIT.OK : NOT_ALL_OK;
}

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { queen: { type: 'string' } });
  const cfg = load(positionals);
  const t = findQueen(values.queen);
  const colony = t ? await new QueenClient(t.url, t.token).colony().catch(() => null) : null;
  const rows = await Promise.all(
    hostSpecs(cfg).map(async (h) => {
      const reach = await Ssh.connect(h, { readyTimeoutMs: 4000 }).then(
        (s) => {
          s.close();
          return 'yes';
        },
        (e: ApiaryError) => e.code ?? 'no',
      );
      const hive = colony?.hives.find((x) => x.resources.name === h.name);
      const beat = hive ? `${((Date.now() - hive.lastHeartbeatAt) / 1000).toFixed(1)}s ago` : '-';
      return [h.name, `${h.address}:${h.port}`, reach, hive?.state ?? (colony ? 'not connected' : 'no queen'), hive ? String(hive.bees.length) : '-', beat];
    }),
  );
  process.stdout.write(columns(['HOST', 'ADDRESS', 'SSH', 'HIVE', 'BEES', 'HEARTBEAT'], rows) + '\n');
  return EXIT.OK;
}

async function exec(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new UsageError('keeper cluster exec: put the command after --, e.g. keeper cluster exec -- uptime');
  const { values, positionals } = parse(argv.slice(0, dash), { host: { type: 'string' } });
  const cfg = load(positionals);
  const hosts = hostSpecs(cfg, values.host);
  if (hosts.length === 0) throw new UsageError(`--host: no host "${values.host}" in ${cfg.source}`);
  // The words after -- are the command, as the user typed it for a remote shell.
  const command = argv.slice(dash + 1).join(' ');
  const codes = await Promise.all(
    hosts.map(async (h) => {
      try {
        const ssh = await Ssh.connect(h);
        try {
          const r = await ssh.exec(command);
          const prefix = (text: string) =>
            text
              .split('\n')
              .filter((l, i, a) => l || i < a.length - 1)
              .map((l) => `${h.name}| ${l}\n`)
              .join('');
          process.stdout.write(prefix(r.stdout));
          process.stderr.write(prefix(r.stderr));
          process.stdout.write(`${h.name}: exit ${r.code ?? r.signal}\n`);
          return r.code ?? 1;
        } finally {
          ssh.close();
        }
      } catch (e) {
        process.stdout.write(`${h.name}: ${(e as ApiaryError).code ?? 'ERROR'}: ${(e as Error).message}\n`);
        return 255;
      }
    }),
  );
  return codes.every((c) => c === 0) ? EXIT.OK : NOT_ALL_OK;
}

async function logs(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } });
  const host = positionals.at(-1);
  const cfg = load(positionals.length > 1 ? positionals.slice(0, -1) : []);
  const h = hostSpecs(cfg, host)[0];
  if (!h) throw new UsageError(`keeper cluster logs: no host "${host ?? ''}" in ${cfg.source}`);
  const lines = Number(values.lines ?? 100);
  if (!Number.isInteger(lines) || lines < 1) throw new UsageError('--lines: a whole number, at least 1');
  const ssh = await Ssh.connect(h);
  try {
    const home = (await ssh.exec('printf %s "$HOME"')).stdout.trim();
    const layout = { installDir: expandHome(h.installDir, home), home: expandHome(h.home, home) };
    if (!values.follow) {
      process.stdout.write(await tailLog(ssh, layout, lines));
      return EXIT.OK;
    }
    // --follow: stream until Ctrl-C; closing the channel ends the remote tail.
    const ch = await ssh.spawn(`tail -n ${lines} -F ${shellQuote(remotePaths(layout).log)}`);
    ch.pipe(process.stdout);
    const sig = await new Promise<NodeJS.Signals | null>((resolve) => {
      onShutdownSignal((s) => resolve(s));
      ch.on('close', () => resolve(null));
    });
    ch.close();
    return sig === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    ssh.close();
  }
}
