import { loadClusterFile, newToken } from '@apiary/config';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import type { ColonyFlags } from '../args.js';
import type { Colony } from '../colony.js';
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

  static async start(flags: ColonyFlags & { cluster: string }): Promise<ClusterColony> {
    const cfg = loadClusterFile(flags.cluster);
    const joinToken = newToken();
    const queen = await EphemeralColony.start(flags, { host: cfg.queen.listen, port: cfg.queen.port, joinToken });
    // queen.port 0: the ephemeral queen bound a free port; its ready line (the client's URL) says which.
    let hosts: HostSpec[];
    try {
      hosts = hostSpecs(cfg, undefined, hivePort(cfg, queen.client.url));
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
