import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProgressView } from '@apiary/protocol';

/** How often the line asks the queen: often enough to look live, one small GET per poll. */
export const PROGRESS_POLL_MS = 200;

/** What the line needs of the client: GET /v1/progress/:id (QueenClient.progress). */
export interface ProgressSource {
  progress(requestId: string, signal?: AbortSignal): Promise<ProgressView>;
}

/**
 * Only a person watching gets a progress line: stderr and stdout both a terminal, and no --json
 * (a pipe or a script gets the output alone, byte for byte as before).
 */
export function wantProgress(json: boolean): boolean {
  return !json && process.stderr.isTTY === true && process.stdout.isTTY === true;
}

/**
 * One line on stderr, redrawn in place while a write or a frame query runs (specs/frames.md#progress):
 * the command sends `requestId` with its request, the line polls GET /v1/progress/:id until stop(),
 * which clears it so the command's own output starts on a clean line. Unknown ids (the request not
 * begun yet, or already ended) and failed polls draw nothing: progress never fails the command.
 */
export class ProgressLine {
  readonly requestId = randomUUID();
  readonly #ac = new AbortController();
  readonly #loop: Promise<void>;
  #drawn = false;

  constructor(
    private readonly source: ProgressSource,
    private readonly label: string,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#ac.signal;
    while (!signal.aborted) {
      try {
        await sleep(PROGRESS_POLL_MS, undefined, { signal });
        const v = await this.source.progress(this.requestId, signal);
        if (!signal.aborted) this.#draw(describeProgress(this.label, v));
      } catch {
        // not begun, ended, aborted, or the queen busy: nothing to draw this time
      }
    }
  }

  #draw(text: string): void {
    this.out.write(`\r\x1b[K${text}`);
    this.#drawn = true;
  }

  /**
   * Stop polling and clear the line (before the command prints its result); synchronous, so a row
   * handler can call it: a poll still in flight sees the abort and draws nothing. Idempotent.
   */
  stop(): void {
    this.#ac.abort();
    if (this.#drawn) this.out.write('\r\x1b[K');
    this.#drawn = false;
  }

  /** Resolves when the polling loop has ended (after stop). */
  get ended(): Promise<void> {
    return this.#loop;
  }
}

/** `write sales: 2/4 files, 7 cells (3.1 s)`; `query: map 12/40 cells (1.2 s)`; `query: merging 40/40 cells (1.9 s)`. */
export function describeProgress(label: string, v: ProgressView): string {
  const secs = `(${(v.elapsed_ms / 1000).toFixed(1)} s)`;
  const count = v.total > 0 ? ` ${v.done}/${v.total} ${v.unit}` : '';
  const cells = v.kind === 'write' && v.cells > 0 ? `, ${v.cells} cell${v.cells === 1 ? '' : 's'}` : '';
  // Plain SQL (no frame, nothing counted) has only its one step: running, not merging.
  const merge = v.total > 0 ? 'merging' : 'running';
  const doing = { start: 'starting', plan: 'planning', map: 'map', merge, write: 'writing', commit: 'committing' }[v.phase];
  return `${label}: ${doing}${count}${cells} ${secs}`;
}
