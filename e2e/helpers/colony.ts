import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ColonyView } from '@apiary/protocol';
import { QueenClient } from '@apiary/client';
import { killAll, pidsWithHome, waitFor, waitGone } from './procs.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const QUEEN_BIN = path.join(ROOT, 'services/queen/bin/queen.js');
export const KEEPER_BIN = path.join(ROOT, 'services/keeper/bin/keeper.js');
export const TASKS = path.join(ROOT, 'e2e/fixtures/tasks.mjs');

export function tempHome(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'apiary-test-'));
}

export interface ColonyOptions {
  bees?: number;
  memoryPerBee?: string;
  timeout?: string;
  graceMs?: number;
  args?: string[];
}

/** A real queen (with its local hive and bees) in its own APIARY_HOME, as a test fixture. */
export class TestColony {
  private constructor(
    readonly home: string,
    readonly proc: ChildProcess,
    readonly client: QueenClient,
    readonly stderr: string[],
  ) {}

  static async start(o: ColonyOptions = {}): Promise<TestColony> {
    const home = tempHome();
    const token = randomBytes(24).toString('base64url');
    const args = [QUEEN_BIN, '--ephemeral', '--exit-with-stdin', '--port', '0', '--bees', String(o.bees ?? 2)];
    args.push('--memory-per-bee', o.memoryPerBee ?? '256MiB', '--cache-dir', path.join(home, 'cache'));
    if (o.timeout) args.push('--timeout', o.timeout);
    if (o.graceMs !== undefined) args.push('--grace', String(o.graceMs));
    args.push(...(o.args ?? []));
    const proc = spawn(process.execPath, args, {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, APIARY_HOME: home, APIARY_CLIENT_TOKEN: token, APIARY_JOIN_TOKEN: randomBytes(24).toString('base64url') },
    });
    const stderr: string[] = [];
    createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).once('line', (l) => resolve(JSON.parse(l).url));
      proc.once('exit', (c) => reject(new Error(`queen exited ${c}: ${stderr.join('\n')}`)));
    }).catch((e: Error) => {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
      throw e;
    });
    const colony = new TestColony(home, proc, new QueenClient(url, token), stderr);
    await colony.waitIdle(o.bees ?? 2);
    return colony;
  }

  get queenPid(): number {
    return this.proc.pid!;
  }

  colony(): Promise<ColonyView> {
    return this.client.colony();
  }

  /** Wait until a hive has joined and `bees` bees are idle. */
  async waitIdle(bees: number, timeoutMs = 20_000): Promise<ColonyView> {
    return waitFor(
      async () => {
        const c = await this.colony();
        const idle = c.hives.flatMap((h) => h.bees).filter((b) => b.state === 'idle').length;
        return idle >= bees ? c : undefined;
      },
      timeoutMs,
      `${bees} idle bees`,
    );
  }

  async hivePid(): Promise<number> {
    const c = await this.colony();
    return c.hives[0]!.resources.pid;
  }

  async beePids(): Promise<number[]> {
    const c = await this.colony();
    return c.hives.flatMap((h) => h.bees.map((b) => b.pid)).filter((p): p is number => p !== null);
  }

  /** Every live process started for this colony (they all carry its APIARY_HOME). */
  pids(): number[] {
    return pidsWithHome(this.home);
  }

  /** Stop the queen, assert every process is gone, remove the home. Safe to call twice. */
  async stop(): Promise<void> {
    const pids = this.pids();
    try {
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
      await waitGone(pids, 15_000);
    } finally {
      killAll(this.pids());
      rmSync(this.home, { recursive: true, force: true });
    }
  }
}
