import { ApiaryError, type ColonyView } from '@apiary/protocol';
import type { QueenClient } from './client.js';

/** How long a command waits for its colony's queen and bees to be up. */
export const READY_TIMEOUT_MS = 15_000;

/** What a keeper command holds: a colony it started for itself, or a queen that was already running. */
export interface Colony {
  readonly client: QueenClient;
  /** True when this keeper started the colony, and so must take it down. */
  readonly owned: boolean;
  waitForBees(timeoutMs?: number): Promise<ColonyView>;
  /** Tear down what this keeper started; never touches a queen it found running. */
  stop(): Promise<void>;
}

/** A queen found running (daemon or remote): used, never stopped. */
export class RemoteColony implements Colony {
  readonly owned = false;

  constructor(readonly client: QueenClient) {}

  async waitForBees(): Promise<ColonyView> {
    return this.client.colony();
  }

  async stop(): Promise<void> {
    // not ours to stop
  }
}

/** The colony once its hive has joined and every bee is idle (polled through the queen's HTTP API). */
export async function waitForIdleBees(client: QueenClient, timeoutMs: number, logTail: () => readonly string[]): Promise<ColonyView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await client.colony();
    const bees = c.hives.flatMap((h) => h.bees);
    if (c.hives.length > 0 && bees.length > 0 && bees.every((b) => b.state === 'idle')) return c;
    if (Date.now() > deadline) throw new ApiaryError('NO_HIVES', `no hive joined the queen within ${timeoutMs} ms\n${logTail().slice(-10).join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
