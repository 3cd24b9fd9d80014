import { daemonPaths, newToken, readDaemonState } from '@apiary/config';
import { loadClusterFile, type ClusterConfig } from './file/index.js';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import type { ColonyFlags } from '../args.js';
import { QueenClient } from '../client.js';
import { RemoteColony, type Colony } from '../colony.js';
import { findQueen } from '../discovery.js';
import { EphemeralColony } from '../ephemeral.js';
import { hivePort, hostSpecs } from './hosts.js';
import { ProgressView } from './progress.js';
import { provisionHost, type HostSpec, type HostUp } from './provision.js';
import { releaseAttached } from './teardown.js';

/**
 * `keeper sql --cluster FILE`: an ephemeral queen here and a hive on every host of the file,
 * each attached to its SSH channel. Stopping closes the channels (each hive's stdin ends and it
 * stops its bees), checks every host for leftovers, then stops the queen.
 */
export class ClusterColony implements Colony {
  readonly owned = true;

  private constructor(
    private readonly queen: EphemeralColony,
    private readonly ups: HostUp[],
  ) {}

  get client() {
    return this.queen.client;
  }

  /** The cluster's own ephemeral colony, or the queen that already serves it (see servingQueen). */
  static async start(flags: ColonyFlags & { cluster: string }): Promise<Colony> {
    const cfg = loadClusterFile(flags.cluster);
    const serving = await servingQueen(cfg, flags.queen);
    if (serving) {
      process.stderr.write(
        `keeper: cluster ${cfg.name} is already served by the queen at ${serving.url} (its hives: ${serving.hives.join(', ')}): running there. Next time, plain \`keeper sql\` (without --cluster) does the same.\n`,
      );
      return new RemoteColony(serving.client);
    }
    const joinToken = newToken();
    const queen = await EphemeralColony.start(flags, { host: cfg.queen.listen, port: cfg.queen.port, joinToken }).catch((e: Error) => {
      throw portHeldHint(cfg, e);
    });
    // queen.port 0: the ephemeral queen bound a free port; its ready line (the client's URL) says which.
    let hosts: HostSpec[];
    try {
      hosts = hostSpecs(cfg, undefined, hivePort(cfg, queen.client.url), queen.client.url.startsWith('https:'));
    } catch (e) {
      await queen.stop();
      throw e;
    }
    const view = new ProgressView(
      hosts.map((h) => h.name),
      process.stderr,
    );
    const job = {
      setupCommands: cfg.setupCommands,
      fileMounts: cfg.fileMounts,
      hive: cfg.hive,
      joinToken,
      ...(queen.fingerprint ? { queenFingerprint: queen.fingerprint } : {}),
      mode: 'attached' as const,
      acceptNewHostKeys: false,
      joinTimeoutMs: 30_000,
    };
    const outcomes = await Promise.all(hosts.map((h) => provisionHost(h, job, queen.client, (e) => view.update(e))));
    const ups = outcomes.flatMap((o) => (o.ok ? [o.up] : []));
    const colony = new ClusterColony(queen, ups);
    if (ups.length === 0) {
      await colony.stop();
      const why = outcomes.map((o) => (o.ok ? '' : `${o.host.name}: ${o.error.code}: ${o.error.message}`)).join('\n');
      throw new ApiaryError('NO_HIVES', `no host of ${cfg.name} came up:\n${why}`);
    }
    for (const o of outcomes) if (!o.ok) process.stderr.write(`keeper: running without ${o.host.name} (${o.error.code})\n`);
    return colony;
  }

  waitForBees(timeoutMs?: number): Promise<ColonyView> {
    return this.queen.waitForBees(timeoutMs);
  }

  async stop(): Promise<void> {
    const results = await Promise.all(this.ups.map((u) => releaseAttached(u)));
    for (const r of results) if (!r.ok) process.stderr.write(`keeper: ${r.host}: ${r.error.code}: ${r.error.message}\n`);
    await this.queen.stop();
  }
}

/**
 * The queen a plain `keeper sql` would use, when hives of this cluster's hosts are connected to it
 * (a daemon from `keeper cluster up`): an ephemeral queen would fight it for the port, and ephemeral
 * hives would share the hosts' homes with its hives.
 */
async function servingQueen(cfg: ClusterConfig, queenFlag: string | undefined): Promise<{ url: string; client: QueenClient; hives: string[] } | null> {
  const t = findQueen(queenFlag);
  if (!t) return null;
  const client = new QueenClient(t.url, t.token);
  const colony = await client.colony().catch(() => null);
  const names = new Set(cfg.hosts.map((h) => h.name));
  const hives = colony?.hives.filter((h) => names.has(h.resources.name) && h.bees.length > 0).map((h) => h.resources.name) ?? [];
  return hives.length > 0 ? { url: t.url, client, hives } : null;
}

/** EADDRINUSE on queen.port: say who holds it when it is our own daemon, and what to run instead. */
function portHeldHint(cfg: ClusterConfig, e: Error): Error {
  if (!/EADDRINUSE/.test(e.message)) return e;
  const d = readDaemonState(daemonPaths());
  const ours = d && Number(new URL(d.url).port) === cfg.queen.port;
  return new ApiaryError(
    'QUEEN_START_FAILED',
    ours
      ? `port ${cfg.queen.port} (queen.port of ${cfg.source}) is held by the queen daemon at ${d.url} (pid ${d.pid}), which serves none of ${cfg.name}'s hosts now: bring them to it with \`keeper cluster up ${cfg.source}\` and run plain \`keeper sql\` (without --cluster), or stop it with \`keeper queen stop\``
      : `port ${cfg.queen.port} (queen.port of ${cfg.source}) is in use by another process: free it, or set queen.port to 0 (any free port)`,
  );
}
