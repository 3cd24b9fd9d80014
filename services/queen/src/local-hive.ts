import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { HIVE_MAIN } from '@apiary/hive/entry';
import { argsOf, HIVE_FLAGS, toArgv, type HiveArgs, type LocalHiveOptions } from '@apiary/config';
import { isAlive, stopProcess, withMallocEnv, type Logger } from '@apiary/runtime';

export interface LocalHiveMode {
  /** Ephemeral: the hive dies with the queen (stdin pipe, and it exits when its socket closes). */
  ephemeral: boolean;
  /** Persistent only: where the hive's pid is kept, so a restarted queen adopts it instead of starting another. */
  pidFile?: string;
}

const RESPAWN_DELAY_MS = 2000;
/** At shutdown the hive gets the grace period plus this to exit by itself before its tree is killed. */
export const HIVE_STOP_OVERSTAY_MS = 500;
/** An adopted hive is not our child (no exit event): how often its pid is checked. */
const ADOPTED_POLL_MS = 500;

/**
 * The hive a queen starts on its own machine. The queen owns it: it passes the join token by env
 * and, at shutdown, kills its whole tree if it has not exited by the end of the grace period.
 * A persistent (daemon) hive outlives a crashed queen, keeps its bees and reconnects; the
 * restarted queen finds it through its pidfile and adopts it.
 */
export class LocalHive {
  #child: ChildProcess | null = null;
  #pid: number | null = null;
  #stopping = false;
  #args: string[] = [];

  constructor(
    private readonly opts: LocalHiveOptions,
    private readonly mode: LocalHiveMode,
    private readonly log: Logger,
    private readonly onUnexpectedExit: (why: string) => void,
  ) {}

  /** `fingerprint`: the queen's TLS certificate, pinned by the hive (a queen listening beyond loopback serves wss). */
  start(queenWs: string, joinToken: string, fingerprint?: string): void {
    this.#args = this.#argsFor(queenWs, fingerprint);
    const adopted = this.#adoptable();
    if (adopted) {
      this.#pid = adopted;
      this.log.info('adopted the running local hive', { hivePid: adopted });
      this.#watchAdopted(adopted, joinToken);
      return;
    }
    this.#spawn(joinToken);
  }

  #argsFor(queenWs: string, fingerprint: string | undefined): string[] {
    const o = { ...this.opts, queenFingerprint: fingerprint };
    // Its options as flags through the hive's own flag table (HIVE_FLAGS), plus the process's own.
    const values: HiveArgs = {
      ...argsOf(HIVE_FLAGS, { ...o, queenUrl: queenWs, ephemeral: this.mode.ephemeral || undefined }),
      'exit-with-stdin': this.mode.ephemeral || undefined,
      'log-format': o.logFormat,
      'log-file': o.logFile,
    };
    return [HIVE_MAIN, ...toArgv(HIVE_FLAGS, values)];
  }

  /** Poll an adopted hive's pid; when it dies, respawn it as if it were our own child. */
  #watchAdopted(pid: number, joinToken: string): void {
    const timer = setInterval(() => {
      if (this.#stopping || this.#pid !== pid) return clearInterval(timer);
      if (isAlive(pid)) return;
      clearInterval(timer);
      this.#pid = null;
      this.#gone('adopted local hive exited', joinToken);
    }, ADOPTED_POLL_MS);
    timer.unref();
  }

  /** The local hive died on its own: tell the queen, and (daemon) start a new one. */
  #gone(why: string, joinToken: string): void {
    this.onUnexpectedExit(why);
    if (!this.mode.ephemeral) {
      this.log.warn(`${why}; starting a new one in ${RESPAWN_DELAY_MS} ms`);
      setTimeout(() => !this.#stopping && this.#spawn(joinToken), RESPAWN_DELAY_MS).unref();
    }
  }

  #spawn(joinToken: string): void {
    const child = spawn(process.execPath, this.#args, {
      // Own group: a terminal Ctrl-C reaches the queen, which then runs the cascade in order.
      detached: true,
      stdio: [this.mode.ephemeral ? 'pipe' : 'ignore', 'ignore', 'inherit'],
      // glibc malloc defaults (runtime malloc-env.ts): read at start, so set for the child.
      env: withMallocEnv({ ...process.env, APIARY_JOIN_TOKEN: joinToken }),
    });
    this.#child = child;
    this.#pid = child.pid ?? null;
    if (this.mode.pidFile && child.pid) writeFileSync(this.mode.pidFile, `${child.pid}\n`, { mode: 0o600 });
    child.once('exit', (code, signal) => {
      this.log.info('local hive exited', { hivePid: child.pid, exitCode: code, signal });
      if (this.#child !== child || this.#stopping) return;
      this.#child = null;
      this.#pid = null;
      this.#gone(`local hive exited (${signal ?? `code ${code}`})`, joinToken);
    });
    child.once('error', (e) => this.log.error(`cannot start local hive: ${e.message}`));
    this.log.info('local hive started', { hivePid: child.pid, ephemeral: this.mode.ephemeral });
  }

  /** A live hive process from our pidfile, left by a queen that died. */
  #adoptable(): number | null {
    if (this.mode.ephemeral || !this.mode.pidFile) return null;
    try {
      const pid = Number(readFileSync(this.mode.pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // Only a process running our hive entry: never adopt (and later kill) an unrelated pid.
      return cmd.split('\0').includes(HIVE_MAIN) ? pid : null;
    } catch {
      return null;
    }
  }

  get pid(): number | null {
    return this.#pid;
  }

  /** Wait up to waitMs for the hive to exit on its own (it was told to shut down), then kill its tree. */
  async stop(waitMs: number): Promise<void> {
    this.#stopping = true;
    const pid = this.#pid;
    if (pid) {
      // It was told to shut down over its socket: no signal, only the wait and, past it, the kill.
      await stopProcess(pid, {
        graceMs: waitMs,
        signal: null,
        onOverstay: () => this.log.warn('local hive did not exit in time; killing its tree', { hivePid: pid }),
      });
    }
    this.#child?.stdin?.destroy();
    this.#child = null;
    this.#pid = null;
    if (this.mode.pidFile) rmSync(this.mode.pidFile, { force: true });
  }
}
