import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { apiaryHome, daemonPaths, resolveQueenConfig } from '@apiary/config';
import { InProcessHive } from '@apiary/hive';
import type { Queen } from '@apiary/queen';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import { createLogger } from '@apiary/runtime';
import type { ColonyFlags } from './args.js';
import type { QueenClient } from './client.js';
import { READY_TIMEOUT_MS, waitForIdleBees, type Colony } from './colony.js';
import { sweepStaleRunDirs } from './run-dirs.js';
import { setHostedColonyEnv } from './colony-env.js';
import { takeEarlyRunDir } from './early-start.js';
import { holdLoopbackPort } from './loopback-port.js';
import { traceStart } from './start-trace.js';

const LOG_TAIL_LINES = 40;
/**
 * The queen's bound on hive silence, here its config maximum. The hosted hive shares the queen's
 * event loop: a stall (a loaded machine, a long GC) delays its heartbeat and the queen's loss check
 * alike, and the check may run first (HIVE_LOST on a healthy hive, seen under load). It cannot be
 * lost apart from its queen anyway: a closed link is handled at once, and a hung loop hangs both.
 */
const HOSTED_HIVE_TIMEOUT_MS = 600_000;
/** The queen's hive WebSocket path (HIVE_PATH in queen/hives/hive-gateway.ts; the hive checks it at start). */
const HIVE_WS_PATH = '/v1/hive';
/** Another process may take the port between our hold and the queen's listen: rare, so a few tries. */
const PORT_ATTEMPTS = 3;

/**
 * A colony that lives for one keeper command, hosted in the keeper's own process: the queen (HTTP on
 * loopback, in-memory ledger) and its local hive run here; only the bees are processes of their own,
 * sealed in their chambers as always. One Node start-up instead of three before the first bee.
 * The keeper still talks to its queen over HTTP (same client, same answers as with any queen), and the
 * hive to the queen over a loopback WebSocket (same wire as a hive process): behaviour is unchanged.
 * Start order: the hive forks its first bee before the queen's code is even loaded (its port is
 * chosen first), so the bee boots while the queen loads and starts. Without --bees, bees are forked
 * as work waits for them (a lone task or statement forks one); --bees N forks all N at start.
 * Lifecycle: stop() runs the queen's cascade (hive told to stop, bees get the grace, then killed);
 * if the keeper is SIGKILLed, each bee sees its IPC channel close (and its ppid change) and kills its
 * own group. The run dir (hive cache, scratch, frame cells) is removed on stop, or by the next keeper.
 */
export class LocalColony implements Colony {
  readonly owned = true;
  #stopping: Promise<void> | null = null;
  /** Set once the queen listens (start() returns no colony before): loaded with the queen, after the first fork. */
  client!: QueenClient;

  private constructor(
    readonly queen: Queen | null,
    readonly hive: InProcessHive,
    readonly runDir: string,
    /** The queen's and hive's last log lines, for error messages. */
    readonly logTail: readonly string[],
  ) {}

  static async start(flags: ColonyFlags): Promise<LocalColony> {
    traceStart('hive code loaded');
    const home = apiaryHome();
    await sweepStaleRunDirs(path.join(home, 'run'));
    // The queen's and hive's log: kept for error messages, shown live with --verbose (as their stderr was).
    // Bees inherit this env (as an early bee did: early-start.ts), so a SQL command's bees load DuckDB as they start.
    setHostedColonyEnv(flags);
    const tail: string[] = [];
    const write = (text: string) => {
      for (const line of text.split('\n')) if (line.length > 0) tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
      if (flags.verbose) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    };
    for (let attempt = 1; ; attempt++) {
      const colony = await LocalColony.#start(flags, home, tail, write);
      if (colony !== 'port taken') return colony;
      if (attempt >= PORT_ATTEMPTS) throw new ApiaryError('QUEEN_START_FAILED', `the queen did not start: its loopback port was taken ${attempt} times`);
    }
  }

  static async #start(flags: ColonyFlags, home: string, tail: string[], write: (text: string) => void): Promise<LocalColony | 'port taken'> {
    // The early bee's run dir if it has one (its scratch is under it), made with the same name and mode.
    const runDir = takeEarlyRunDir() ?? path.join(home, 'run', `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const clientToken = randomBytes(24).toString('base64url');
    const joinToken = randomBytes(24).toString('base64url');
    const graceMs = flags.graceMs ?? 5000;
    const localHive = {
      bees: flags.bees,
      memoryPerBee: flags.memoryPerBeeBytes,
      taskTimeout: flags.timeoutMs,
      graceMs,
      cacheDir: path.join(runDir, 'cache'),
    };
    // Held (bound) until the queen is about to listen on it, so nobody else takes it meanwhile.
    const port = await holdLoopbackPort();
    // Without --bees, bees are forked as work waits for them: a lone task or statement forks one.
    const hive = new InProcessHive(localHive, createLogger(`hive[${process.pid}]`, write), flags.bees === undefined);
    let colony = new LocalColony(null, hive, runDir, tail);
    try {
      hive.prestart(`ws://127.0.0.1:${port.port}${HIVE_WS_PATH}`, joinToken);
      traceStart('first bee forking');
      // Loaded on use, after the bees are on their way: the queen's code (fastify) is most of the load,
      // and the client's (the HTTP API's schemas) is needed only once the queen listens.
      const [{ Queen }, { QueenClient }] = await Promise.all([import('@apiary/queen'), import('./client.js')]);
      traceStart('queen code loaded');
      const cfg = resolveQueenConfig({
        home: daemonPaths(home).home,
        host: '127.0.0.1',
        port: port.port,
        ephemeral: true,
        clientToken,
        joinToken,
        localHive,
        graceMs,
        hiveTimeoutMs: HOSTED_HIVE_TIMEOUT_MS,
      });
      const queen = new Queen(cfg, createLogger(`queen[${process.pid}]`, write), { localHive: (onGone) => hive.attach(onGone) });
      colony = new LocalColony(queen, hive, runDir, tail);
      await queen.app.ready(); // routes compiled first: the port is let go only right before the listen
      traceStart('queen built');
      await port.release();
      await queen.start();
      traceStart('queen listening, hive connecting');
      colony.client = new QueenClient(queen.url, clientToken);
      return colony;
    } catch (e) {
      await port.release();
      await colony.stop();
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return 'port taken';
      const why = e instanceof ApiaryError ? `${e.code}: ${e.message}` : (e as Error).message;
      throw new ApiaryError('QUEEN_START_FAILED', `the queen did not start: ${why}\n${tail.slice(-10).join('\n')}`);
    }
  }

  /** The hive joined and its bees are idle; bees forked on demand are all forked first (keeper demo reports each). */
  waitForBees(timeoutMs = READY_TIMEOUT_MS): Promise<ColonyView> {
    this.hive.startAllBees();
    return waitForIdleBees(this.client, timeoutMs, () => this.logTail);
  }

  /** Once: on Ctrl-C both the interrupt and the command's own cleanup call it. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      traceStart('stopping');
      await this.queen?.stop();
      // A queen that failed before it took its hive never stops it: its bees go here (else a no-op).
      await this.hive.stop(0);
      traceStart('queen, hive and bees stopped');
      await rm(this.runDir, { recursive: true, force: true });
      await rmdir(path.dirname(this.runDir)).catch(() => undefined); // only if no other run is using it
      traceStart('run dir removed');
    })();
    return this.#stopping;
  }
}
