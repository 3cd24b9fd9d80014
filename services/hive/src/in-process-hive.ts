import { resolveHiveConfig, type HiveOptions } from '@apiary/config';
import { killTree, waitForExit, type Logger } from '@apiary/runtime';
import { Hive } from './hive.js';

/** Beyond its stop's own bound (grace + the pool's 2 s wait for exits): when bees are killed by force. */
const STOP_MARGIN_MS = 2500;

/**
 * An ephemeral hive hosted in the process of the queen that uses it (an ephemeral keeper hosts both,
 * as Dask's LocalCluster hosts its scheduler): no process of its own, same wire to the queen (a
 * loopback WebSocket), same bee pool. Its bees stay separate sealed processes; they die with this
 * process (IPC disconnect + ppid watchdog in the bee), so nothing outlives a SIGKILLed host.
 * Shaped as the queen's LocalHiveHandle (queen.ts), so the queen runs its cascade unchanged.
 */
export class InProcessHive {
  #hive: Hive | null = null;
  #stopping = false;
  #onGone: (why: string) => void = () => undefined;

  constructor(
    private readonly opts: Omit<HiveOptions, 'queenUrl' | 'joinToken' | 'ephemeral' | 'queenFingerprint'>,
    private readonly log: Logger,
    /** Fork bees as the work needs them (BeePool.onDemand) rather than all at start. */
    private readonly beesOnDemand = false,
  ) {}

  /** This hive as the queen's local hive (its `localHive` dependency): a loss is reported to it. */
  attach(onGone: (why: string) => void): this {
    this.#onGone = onGone;
    return this;
  }

  /**
   * Fork the bees now, before the queen that will use this hive is even loaded: they boot while the
   * host starts its queen. queenWs is where that queen will listen; start() then only connects.
   */
  prestart(queenWs: string, joinToken: string): void {
    const hive = this.#make(queenWs, joinToken);
    hive.pool.start().catch((e: Error) => this.log.error(`the in-process hive's bees did not start: ${e.message}`));
  }

  #make(queenWs: string, joinToken: string, fingerprint?: string): Hive {
    const cfg = resolveHiveConfig({ ...this.opts, queenUrl: queenWs, joinToken, ephemeral: true, queenFingerprint: fingerprint });
    const hive = new Hive(cfg, this.log);
    hive.pool.onDemand = this.beesOnDemand;
    this.#hive = hive;
    return hive;
  }

  start(queenWs: string, joinToken: string, fingerprint?: string): void {
    const hive = this.#hive ?? this.#make(queenWs, joinToken, fingerprint);
    if (hive.cfg.queenUrl !== queenWs || hive.cfg.joinToken !== joinToken) {
      // prestart() was told another address than the queen listens at: a bug in the host, said loudly.
      this.log.error(`the in-process hive was prestarted for ${hive.cfg.queenUrl}, but its queen is at ${queenWs}`);
      void hive.stop(0).then(() => this.#onGone('the in-process hive was started for another queen'));
      return;
    }
    // An ephemeral hive stops by itself when its queen link closes; before the queen asked, that is a loss.
    void hive.done.then((code) => this.#stopping || this.#onGone(`the in-process hive stopped (code ${code})`));
    hive.start().catch((e: Error) => {
      this.log.error(`the in-process hive did not start: ${e.message}`);
      void hive.stop(0);
    });
  }

  /** Fork every bee not forked yet (bees on demand): for a command that wants them all now. */
  startAllBees(): void {
    this.#hive?.pool.startAll();
  }

  /** The hive runs in this very process. */
  get pid(): number | null {
    return this.#hive ? process.pid : null;
  }

  /** The bees' pids (for the host's tests and reports). */
  beePids(): number[] {
    return (this.#hive?.pool.chambers ?? []).map((c) => c.pid).filter((p): p is number => p !== null);
  }

  /**
   * Stop as the queen's shutdown message would (running tasks get the hive's grace), even if that
   * message has not arrived yet; kill the bees' trees if the stop overstays.
   */
  async stop(waitMs: number): Promise<void> {
    this.#stopping = true;
    const hive = this.#hive;
    if (!hive) return;
    const stopped = hive.stop(hive.cfg.graceMs);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<false>((r) => (timer = setTimeout(() => r(false), waitMs + STOP_MARGIN_MS)));
    const ok = await Promise.race([stopped.then(() => true), bound]);
    clearTimeout(timer);
    if (ok) return;
    const pids = this.beePids();
    this.log.warn('in-process hive did not stop in time; killing its bees', { bees: pids });
    for (const p of pids) killTree(p, 'SIGKILL');
    await waitForExit(pids, 2000);
  }
}
