import { spawn, type ChildProcess } from 'node:child_process';
import { HIVE_MAIN } from '@apiary/hive/entry';
import type { LocalHiveOptions } from '@apiary/config';
import { isAlive, killTree, waitForExit, type Logger } from '@apiary/runtime';

/**
 * The hive a queen starts on its own machine, as a child process. The queen owns it: it passes the
 * join token by env, holds its stdin (so the hive ends if the queen dies), and kills its whole tree
 * if it has not exited by the end of the shutdown grace.
 */
export class LocalHive {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: LocalHiveOptions,
    private readonly log: Logger,
    private readonly onUnexpectedExit: (why: string) => void,
  ) {}

  start(queenWs: string, joinToken: string, ephemeral: boolean): void {
    const o = this.opts;
    const args = [HIVE_MAIN, '--queen', queenWs, '--exit-with-stdin'];
    if (ephemeral) args.push('--ephemeral');
    if (o.name) args.push('--name', o.name);
    if (o.bees !== undefined) args.push('--bees', String(o.bees));
    if (o.memoryPerBee !== undefined) args.push('--memory-per-bee', String(o.memoryPerBee));
    if (o.taskTimeout !== undefined) args.push('--timeout', String(o.taskTimeout));
    if (o.graceMs !== undefined) args.push('--grace', String(o.graceMs));
    if (o.memoryPollMs !== undefined) args.push('--memory-poll', String(o.memoryPollMs));
    if (o.cacheDir) args.push('--cache-dir', o.cacheDir);
    const child = spawn(process.execPath, args, {
      // Own group: a terminal Ctrl-C reaches the queen, which then runs the cascade in order.
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit'],
      env: { ...process.env, APIARY_JOIN_TOKEN: joinToken },
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.log.info(`local hive exited`, { pid: child.pid, code, signal });
        if (this.#child === child) {
          this.#child = null;
          this.onUnexpectedExit(`local hive exited (${signal ?? `code ${code}`})`);
        }
        resolve();
      });
    });
    child.once('error', (e) => this.log.error(`cannot start local hive: ${e.message}`));
    this.log.info('local hive started', { pid: child.pid });
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Wait up to waitMs for the hive to exit on its own (it was told to shut down), then kill its tree. */
  async stop(waitMs: number): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    this.#child = null;
    const pid = child.pid;
    const exited = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
    if (!exited || isAlive(pid)) {
      this.log.warn('local hive did not exit in time; killing its tree', { pid });
      killTree(pid, 'SIGKILL');
      await waitForExit([pid], 2000);
    }
    child.stdin?.destroy();
  }
}
