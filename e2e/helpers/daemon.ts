import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ColonyView } from '@apiary/protocol';
import { QueenClient } from '@apiary/client';
import { QUEEN_BIN, ROOT, tempHome } from './colony.js';
import { killAll, pidsWithHome, waitFor, waitGone } from './procs.js';

export const HIVE_BIN = path.join(ROOT, 'services/hive/bin/hive.js');

/**
 * A queen daemon (durable ledger, persistent local hive) in its own APIARY_HOME, so it can be
 * killed and started again the way an operator would. The first queen binds port 0 and reports
 * the port the kernel gave it on its ready line (no probe-then-release race with other tests);
 * a restarted queen binds that same port, which its persistent hives keep redialling.
 */
export class TestDaemon {
  queen: ChildProcess | null = null;
  readonly stderr: string[] = [];
  readonly extra: ChildProcess[] = [];
  client!: QueenClient;
  url = '';
  /** The port the first queen bound (0 until then); every restart binds it again. */
  port = 0;
  /** The tokenless metrics listener's URL from the ready line (with --metrics-port), else ''. */
  metricsUrl = '';

  constructor(
    readonly home: string,
    readonly args: string[],
  ) {}

  static async start(args: string[] = ['--bees', '2', '--memory-per-bee', '256MiB']): Promise<TestDaemon> {
    const d = new TestDaemon(tempHome(), args);
    try {
      await d.startQueen();
    } catch (e) {
      // A queen that never came up leaves no daemon to stop, but its home must still go.
      killAll(pidsWithHome(d.home));
      rmSync(d.home, { recursive: true, force: true });
      throw e;
    }
    return d;
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, APIARY_HOME: this.home, APIARY_LOG_LEVEL: process.env.APIARY_LOG_LEVEL ?? 'warn' };
  }

  token(which: 'client' | 'join'): string {
    return readFileSync(path.join(this.home, 'tokens', `${which}.token`), 'utf8').trim();
  }

  async startQueen(): Promise<void> {
    const q = spawn(process.execPath, [QUEEN_BIN, '--port', String(this.port), ...this.args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.env,
    });
    this.queen = q;
    createInterface({ input: q.stderr! }).on('line', (l) => this.stderr.push(l));
    this.url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: q.stdout! }).once('line', (l) => {
        const ready = JSON.parse(l) as { url: string; metricsUrl?: string };
        this.metricsUrl = ready.metricsUrl ?? '';
        resolve(ready.url);
      });
      q.once('exit', (c) => reject(new Error(`queen exited ${c}:\n${this.stderr.join('\n')}`)));
    });
    const bound = Number(new URL(this.url).port);
    if (this.port !== 0 && bound !== this.port) throw new Error(`the restarted queen bound port ${bound}, not ${this.port}`);
    this.port = bound;
    this.client = new QueenClient(this.url, this.token('client'));
  }

  /** A hive started separately (as on another machine), joining with the join token from env. */
  startHive(name: string, extra: string[] = []): ChildProcess {
    const h = spawn(
      process.execPath,
      [
        HIVE_BIN,
        '--queen',
        `ws://127.0.0.1:${this.port}/v1/hive`,
        '--name',
        name,
        '--bees',
        '2',
        '--memory-per-bee',
        '256MiB',
        '--cache-dir',
        path.join(this.home, `cache-${name}`),
        ...extra,
      ],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...this.env, APIARY_JOIN_TOKEN: this.token('join') } },
    );
    createInterface({ input: h.stderr! }).on('line', (l) => this.stderr.push(`[${name}] ${l}`));
    this.extra.push(h);
    return h;
  }

  async waitHives(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        const c = await this.client.colony();
        return c.hives.filter((h) => h.bees.length > 0 && h.bees.every((b) => b.state === 'idle' || b.state === 'busy')).length >= n;
      },
      timeoutMs,
      `${n} hive(s) with bees up`,
    );
  }

  /** Wait until `bees` bees are idle; answers the colony view at that moment. */
  async waitIdle(bees: number, timeoutMs = 20_000): Promise<ColonyView> {
    return waitFor(
      async () => {
        const c = await this.client.colony();
        return c.hives.flatMap((h) => h.bees).filter((b) => b.state === 'idle').length >= bees ? c : undefined;
      },
      timeoutMs,
      `${bees} idle bees`,
    );
  }

  /** Stop everything: SIGTERM the queen (cascade), then make sure nothing of this home survives. */
  async stop(): Promise<void> {
    const pids = pidsWithHome(this.home);
    try {
      if (this.queen && this.queen.exitCode === null && this.queen.signalCode === null) this.queen.kill('SIGTERM');
      for (const h of this.extra) if (h.exitCode === null && h.signalCode === null) h.kill('SIGTERM');
      await waitGone(pids, 20_000);
    } finally {
      killAll(pidsWithHome(this.home));
      rmSync(this.home, { recursive: true, force: true });
    }
  }
}
