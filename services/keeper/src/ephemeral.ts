import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import { apiaryHome } from '@apiary/config';
import { QUEEN_MAIN } from '@apiary/queen/entry';
import { ApiaryError, type ColonyView } from '@apiary/protocol';
import { isAlive, stopProcess, withMallocEnv } from '@apiary/runtime';
import type { ColonyFlags } from './args.js';
import { QueenClient } from './client.js';
import { pinQueen } from './tls-pins.js';
import { READY_TIMEOUT_MS, waitForIdleBees, type Colony } from './colony.js';
import { sweepStaleRunDirs } from './run-dirs.js';

const LOG_TAIL_LINES = 40;

/**
 * The queen of a cluster run (`--cluster`), as a process of its own bound where remote hives can
 * reach it (https beyond loopback), with no local hive. A keeper's local one-shot colony is hosted
 * in the keeper's own process instead (local-colony.ts). On stop the keeper tears it down and removes
 * its run dir. The queen gets the keeper's pipe as stdin, so if the keeper is killed outright the
 * queen sees EOF and cascades by itself.
 */
export class EphemeralColony implements Colony {
  readonly owned = true;
  readonly #logTail: string[] = [];
  #stopping: Promise<void> | null = null;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    readonly client: QueenClient,
    readonly runDir: string,
    readonly graceMs: number,
  ) {}

  /** A queen for hives on other hosts (cluster runs): bind there, no local hive, known join token. */
  static async start(flags: ColonyFlags, remote: { host: string; port: number; joinToken: string }): Promise<EphemeralColony> {
    await sweepStaleRunDirs(path.join(apiaryHome(), 'run'));
    const runDir = path.join(apiaryHome(), 'run', `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const clientToken = randomBytes(24).toString('base64url');
    const args = [QUEEN_MAIN, '--ephemeral', '--exit-with-stdin', '--cache-dir', path.join(runDir, 'cache')];
    // --bees, --memory-per-bee and --timeout configure a local hive: a cluster's hives get them from `cluster up`.
    args.push('--host', remote.host, '--port', String(remote.port), '--no-local-hive');
    const graceMs = flags.graceMs ?? 5000;
    args.push('--grace', String(graceMs));
    // child_process rather than execa here: execa's import alone costs ~90 ms of every one-shot run.
    const proc = spawn(process.execPath, args, {
      // Own process group: Ctrl-C comes to the keeper, which runs the shutdown in order.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      // The malloc defaults, as for every queen the keeper starts (glibc reads them at exec).
      env: withMallocEnv({
        ...process.env,
        APIARY_CLIENT_TOKEN: clientToken,
        APIARY_JOIN_TOKEN: remote.joinToken,
        APIARY_LOG_LEVEL: process.env.APIARY_LOG_LEVEL ?? (flags.verbose ? 'debug' : 'info'),
      }),
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', () => resolve({ code: null, signal: null }));
    });
    const colony = new EphemeralColony(proc, exited, new QueenClient('', clientToken), runDir, graceMs);
    createInterface({ input: proc.stderr! }).on('line', (l) => colony.#log(l, flags.verbose));
    try {
      const url = await colony.#awaitReady();
      (colony as { client: QueenClient }).client = new QueenClient(url, clientToken);
    } catch (e) {
      await colony.stop();
      throw e;
    }
    return colony;
  }

  #log(line: string, verbose: boolean): void {
    this.#logTail.push(line);
    if (this.#logTail.length > LOG_TAIL_LINES) this.#logTail.shift();
    if (verbose) process.stderr.write(line + '\n');
  }

  get logTail(): readonly string[] {
    return this.#logTail;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The queen's TLS certificate (SHA-256) when it serves https (a cluster run's queen); hives pin it. */
  fingerprint: string | undefined;

  #awaitReady(): Promise<string> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new ApiaryError('QUEEN_START_FAILED', `the queen did not start: ${why}\n${this.#logTail.slice(-10).join('\n')}`));
      const timer = setTimeout(() => fail(`no ready line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      createInterface({ input: this.proc.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        try {
          const msg = JSON.parse(line) as { type?: string; url?: string; fingerprint?: string };
          // A queen bound beyond loopback serves https: pin the certificate it reports (our own child).
          if (msg.type === 'ready' && msg.url && msg.fingerprint) {
            this.fingerprint = msg.fingerprint;
            pinQueen(msg.url, msg.fingerprint);
          }
          if (msg.type === 'ready' && msg.url) resolve(msg.url);
          else fail(`unexpected output: ${line}`);
        } catch {
          fail(`unexpected output: ${line}`);
        }
      });
      void this.exited.then((r) => {
        clearTimeout(timer);
        fail(`it exited (${r.signal ?? `code ${r.code}`})`);
      });
    });
  }

  /**
   * The colony once its hive has joined and every bee is up. Tasks may be submitted before (they
   * queue); this is for commands that report on the bees or want all of them from the start.
   */
  waitForBees(timeoutMs = READY_TIMEOUT_MS): Promise<ColonyView> {
    return waitForIdleBees(this.client, timeoutMs, () => this.#logTail);
  }

  /**
   * SIGTERM the queen (it cascades to hive and bees), wait for it, kill the tree if it overstays.
   * Once: on Ctrl-C both the interrupt and the command's own cleanup call it, and a second SIGTERM
   * would make the queen exit at once (a second signal forces an exit) instead of cascading.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const pid = this.proc.pid;
    if (pid && isAlive(pid)) {
      // The queen's own grace for its hive, plus 2 s for it to exit after the cascade.
      await stopProcess(pid, { graceMs: this.graceMs + 2000 });
    }
    await rm(this.runDir, { recursive: true, force: true });
    await rmdir(path.dirname(this.runDir)).catch(() => undefined); // only if no other run is using it
  }
}
