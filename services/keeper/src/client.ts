import type { TaskLimits, TaskOutputEvent, TaskSpec, TaskView } from '@apiary/protocol';
import { QueenClient as ApiClient } from '@apiary/client';
import { agentFor, pinQueen } from './tls-pins.js';
import { followTask } from './task-stream.js';
import { streamSql, type StreamEnd, type StreamHandlers } from './sql-stream.js';

/**
 * keeper's client of the queen: @apiary/client (every route, answers checked against the protocol)
 * plus what only the CLI needs: a pinned certificate per queen (tls-pins.ts), the live output of
 * `keeper run` (task-stream.ts) and streamed SQL rows (sql-stream.ts).
 */
export class QueenClient extends ApiClient {
  /** `fingerprint`: pin an https queen's certificate (tls-pins.ts); discovery pins the queens it finds already. */
  constructor(url: string, token: string, fingerprint?: string) {
    super(url, token, { agentFor });
    if (fingerprint) pinQueen(url, fingerprint);
  }

  /** SQL with the rows streamed (format ndjson): handed to `h` as they arrive; see sql-stream.ts. */
  sqlStream(
    sql: string,
    o: { limits?: TaskLimits; requestId?: string },
    h: StreamHandlers,
    signal?: AbortSignal,
    drain?: () => Promise<void> | null,
  ): Promise<StreamEnd> {
    return streamSql(this.url, this.token, { sql, limits: o.limits, requestId: o.requestId }, h, signal, drain);
  }

  /** Submit and wait until the task is terminal (long-polls in 30 s slices); with onOutput, its output is streamed live. */
  override async run(
    spec: TaskSpec,
    limits: TaskLimits,
    signal?: AbortSignal,
    onSubmitted?: (id: string) => void,
    onOutput?: (e: TaskOutputEvent) => void,
  ): Promise<TaskView> {
    let t = await this.submit(spec, limits, 0, signal);
    onSubmitted?.(t.id);
    const seen = new Set<number>();
    if (onOutput && (t.state === 'queued' || t.state === 'running')) {
      // The output stream and the long poll side by side: the result is there as the task ends,
      // not one request after the stream's last event; both are awaited, so all output the stream
      // carries is printed before the result.
      const follow = followTask(
        this.url,
        this.token,
        t.id,
        (e) => {
          seen.add(e.attempt);
          onOutput(e);
        },
        signal,
      );
      [, t] = await Promise.all([follow, this.settle(t, signal)]);
    } else t = await this.settle(t, signal);
    if (onOutput) {
      // Attempts that finished before the stream was up (or without it): their saved output.
      for (const a of t.attempts) {
        if (a.output && !seen.has(a.attempt)) onOutput({ id: t.id, attempt: a.attempt, stream: 'stdout', data: a.output, cut: 0, at: Date.now() });
      }
    }
    return t;
  }
}
