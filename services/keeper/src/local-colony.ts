import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { apiaryHome, daemonPaths, resolveQueenConfig } from '@apiary/config';
import { InProcessHive } from '@apiary/hive';
import { Queen } from '@apiary/queen';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import { createLogger } from '@apiary/runtime';
import type { ColonyFlags } from './args.js';
import { QueenClient } from './client.js';
import type { Colony } from './colony.js';
import { READY_TIMEOUT_MS, sweepStaleRunDirs, waitForIdleBees } from './ephemeral.js';

const LOG_TAIL_LINES = 40;
/**
 * The queen's bound on hive silence, here its config maximum. The hosted hive shares the queen's
 * event loop: a stall (a loaded machine, a long GC) delays its heartbeat and the queen's loss check
 * alike, and the check may run first (HIVE_LOST on a healthy hive, seen under load). It cannot be
 * lost apart from its queen anyway: a closed link is handled at once, and a hung loop hangs both.
 */
const HOSTED_HIVE_TIMEOUT_MS = 600_000;

/**
 * A colony that lives for one keeper command, hosted in the keeper's own process: the queen (HTTP on
 * loopback, in-memory ledger) and its local hive run here; only the bees are processes of their own,
 * sealed in their chambers as always. One Node start-up instead of three before the first bee.
 * The keeper still talks to its queen over HTTP (same client, same answers as with any queen), and the
 * hive to the queen over a loopback WebSocket (same wire as a hive process): behaviour is unchanged.
 * Lifecycle: stop() runs the queen's cascade (hive told to stop, bees get the grace, then killed);
 * if the keeper is SIGKILLed, each bee sees its IPC channel close (and its ppid change) and kills its
 * own group. The run dir (hive cache, scratch, frame cells) is removed on stop, or by the next keeper.
 */
export class LocalColony implements Colony {
  readonly owned = true;
  #stopping: Promise<void> | null = null;
  client: QueenClient;

  private constructor(
    readonly queen: Queen,
    readonly hive: () => InProcessHive | null,
    readonly runDir: string,
    clientToken: string,
    /** The queen's and hive's last log lines, for error messages. */
    readonly logTail: readonly string[],
  ) {
    this.client = new QueenClient('', clientToken);
  }

  static async start(flags: ColonyFlags): Promise<LocalColony> {
    const home = apiaryHome();
    await sweepStaleRunDirs(path.join(home, 'run'));
    const runDir = path.join(home, 'run', `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const clientToken = randomBytes(24).toString('base64url');
    // The queen's and hive's log: kept for error messages, shown live with --verbose (as their stderr was).
    if (flags.verbose && process.env.APIARY_LOG_LEVEL === undefined) process.env.APIARY_LOG_LEVEL = 'debug';
    const tail: string[] = [];
    const write = (text: string) => {
      for (const line of text.split('\n')) if (line.length > 0) tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
      if (flags.verbose) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    };
    const log = createLogger(`queen[${process.pid}]`, write);
    const graceMs = flags.graceMs ?? 5000;
    const localHive = {
      bees: flags.bees,
      memoryPerBee: flags.memoryPerBeeBytes,
      taskTimeout: flags.timeoutMs,
      graceMs,
      cacheDir: path.join(runDir, 'cache'),
    };
    const cfg = resolveQueenConfig({
      home: daemonPaths(home).home,
      host: '127.0.0.1',
      port: 0,
      ephemeral: true,
      clientToken,
      joinToken: randomBytes(24).toString('base64url'),
      localHive,
      graceMs,
      hiveTimeoutMs: HOSTED_HIVE_TIMEOUT_MS,
    });
    let hive: InProcessHive | null = null;
    const queen = new Queen(cfg, log, {
      localHive: (onGone) => (hive = new InProcessHive(localHive, createLogger(`hive[${process.pid}]`, write), onGone)),
    });
    const colony = new LocalColony(queen, () => hive, runDir, clientToken, tail);
    try {
      await queen.start();
    } catch (e) {
      await colony.stop();
      const why = e instanceof ApiaryError ? `${e.code}: ${e.message}` : (e as Error).message;
      throw new ApiaryError('QUEEN_START_FAILED', `the queen did not start: ${why}\n${tail.slice(-10).join('\n')}`);
    }
    colony.client = new QueenClient(queen.url, clientToken);
    return colony;
  }

  waitForBees(timeoutMs = READY_TIMEOUT_MS): Promise<ColonyView> {
    return waitForIdleBees(this.client, timeoutMs, () => this.logTail);
  }

  /** Once: on Ctrl-C both the interrupt and the command's own cleanup call it. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.queen.stop();
      await rm(this.runDir, { recursive: true, force: true });
      await rmdir(path.dirname(this.runDir)).catch(() => undefined); // only if no other run is using it
    })();
    return this.#stopping;
  }
}
