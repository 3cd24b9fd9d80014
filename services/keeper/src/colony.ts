import type { ColonyView } from '@apiary/protocol';
import type { QueenClient } from './client.js';

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
