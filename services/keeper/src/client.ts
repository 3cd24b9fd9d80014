import {
  ApiaryError,
  type ColonyView,
  type FrameDetail,
  type FrameSummary,
  type NodeRecord,
  type PruneRequest,
  type PruneResponse,
  type SqlResponse,
  type TaskLimits,
  type TaskSpec,
  type TaskOutputEvent,
  type TaskState,
  type TaskView,
  type WireError,
  type WriteRequest,
  type WriteResponse,
} from '@apiary/protocol';

import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreatedToken, TokenInfo, TokenScope } from '@apiary/protocol';
import { request, type RawResponse } from './http-request.js';
import { pinQueen } from './tls-pins.js';
import { followTask } from './task-stream.js';
import { streamSql, type StreamEnd, type StreamHandlers } from './sql-stream.js';

/**
 * Waits between submission retries after a connection failure: about 8 s in all, enough for a
 * daemon to be restarted by its supervisor; each retry carries the first attempt's Idempotency-Key.
 */
const SUBMIT_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000];

/**
 * A small HTTP client for the queen's /v1 API, on node:http (./http-request.ts) rather than fetch:
 * fetch gives up on a response after 300 s without headers, and the queen answers a long query or write when it is done.
 */
export class QueenClient {
  /** `fingerprint`: pin an https queen's certificate (tls-pins.ts); discovery pins the queens it finds already. */
  constructor(
    readonly url: string,
    private readonly token: string,
    fingerprint?: string,
  ) {
    if (fingerprint) pinQueen(url, fingerprint);
  }

  async #call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, extra: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { ...extra, authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.#send<T>(method, path, headers, body === undefined ? undefined : JSON.stringify(body), signal);
  }

  async #send<T>(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | NodeJS.ReadableStream | undefined,
    signal?: AbortSignal,
  ): Promise<T> {
    let res: RawResponse;
    try {
      res = await request(this.url + path, { method, headers, body, signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      // TLS_PIN_MISMATCH: the queen was reached, and refused for its certificate.
      if (e instanceof ApiaryError) throw e;
      // The cause lets a submission tell 'nothing listens' from 'the connection broke' (#submitOnce).
      throw new ApiaryError('QUEEN_UNREACHABLE', `cannot reach the queen at ${this.url}: ${(e as Error).message}`, undefined, { cause: e });
    }
    let json: unknown = null;
    try {
      json = JSON.parse(res.text);
    } catch {
      // not JSON: reported below by status
    }
    if (res.status < 200 || res.status >= 300) {
      const w = json as Partial<WireError> | null;
      throw new ApiaryError(w?.code ?? 'INTERNAL', w?.message ?? `HTTP ${res.status} from the queen`);
    }
    return json as T;
  }

  submit(spec: TaskSpec, limits: TaskLimits = {}, waitMs = 0, signal?: AbortSignal): Promise<TaskView> {
    return this.#submitOnce('POST', `/v1/tasks?waitMs=${waitMs}`, { spec, limits }, signal);
  }

  /**
   * A submission with an Idempotency-Key, retried with the same key while the queen cannot be
   * reached (refused, reset, or the answer lost): the queen creates the task(s) at most once, and a
   * retry of a request it did take gets the same ids.
   */
  async #submitOnce<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const key = randomUUID();
    for (let i = 0; ; i++) {
      try {
        return await this.#call<T>(method, path, body, signal, { 'idempotency-key': key });
      } catch (e) {
        // Refused on the first try: no queen listens there, so say so at once rather than after ~8 s
        // of retries; refused later (a restart under way) or a broken connection is retried.
        const refusedAtOnce = i === 0 && (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        const retry = e instanceof ApiaryError && e.code === 'QUEEN_UNREACHABLE' && !refusedAtOnce && i < SUBMIT_RETRY_DELAYS_MS.length && !signal?.aborted;
        if (!retry) throw e;
        await sleep(SUBMIT_RETRY_DELAYS_MS[i], undefined, { signal });
      }
    }
  }

  createToken(scope: TokenScope, name?: string): Promise<CreatedToken> {
    return this.#call('POST', '/v1/admin/tokens', name === undefined ? { scope } : { scope, name });
  }

  listTokens(): Promise<{ tokens: TokenInfo[] }> {
    return this.#call('GET', '/v1/admin/tokens');
  }

  revokeToken(id: string): Promise<TokenInfo> {
    return this.#call('DELETE', `/v1/admin/tokens/${encodeURIComponent(id)}`);
  }

  get(id: string, waitMs = 0, signal?: AbortSignal): Promise<TaskView> {
    return this.#call('GET', `/v1/tasks/${encodeURIComponent(id)}?waitMs=${waitMs}`, undefined, signal);
  }

  cancel(id: string): Promise<TaskView> {
    return this.#call('DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
  }

  /** SQL that may name frames: the queen plans it and bees run it. */
  sql(
    sql: string,
    o: { explain?: boolean; limits?: TaskLimits; into?: string; intoMode?: 'append' | 'overwrite' } = {},
    signal?: AbortSignal,
  ): Promise<SqlResponse> {
    return this.#call(
      'POST',
      '/v1/sql',
      { sql, explain: o.explain ?? false, limits: o.limits ?? {}, ...(o.into ? { into: o.into, intoMode: o.intoMode ?? 'overwrite' } : {}) },
      signal,
    );
  }

  /** SQL with the rows streamed (format ndjson): handed to `h` as they arrive; see sql-stream.ts. */
  sqlStream(sql: string, o: { limits?: TaskLimits }, h: StreamHandlers, signal?: AbortSignal, drain?: () => Promise<void> | null): Promise<StreamEnd> {
    return streamSql(this.url, this.token, { sql, limits: o.limits }, h, signal, drain);
  }

  colony(): Promise<ColonyView> {
    return this.#call('GET', '/v1/colony');
  }

  list(state?: TaskState, limit = 50): Promise<{ tasks: TaskView[] }> {
    return this.#call('GET', `/v1/tasks?limit=${limit}${state ? `&state=${state}` : ''}`);
  }

  submitBatch(tasks: { spec: TaskSpec; limits?: TaskLimits }[]): Promise<{ ids: string[] }> {
    return this.#submitOnce('POST', '/v1/tasks/batch', { tasks: tasks.map((t) => ({ spec: t.spec, limits: t.limits ?? {} })) });
  }

  waitMany(ids: string[], waitMs: number): Promise<{ tasks: TaskView[] }> {
    return this.#call('POST', '/v1/tasks/wait', { ids, waitMs });
  }

  /** Ask the queen to stop one hive; false when it has no such hive connected. */
  async stopHive(name: string, graceMs?: number): Promise<boolean> {
    try {
      await this.#call('POST', `/v1/hives/${encodeURIComponent(name)}/shutdown`, graceMs === undefined ? {} : { graceMs });
      return true;
    } catch (e) {
      if ((e as ApiaryError).code === 'HIVE_NOT_FOUND') return false;
      throw e;
    }
  }

  putNode(n: NodeRecord): Promise<NodeRecord> {
    return this.#call('PUT', `/v1/nodes/${encodeURIComponent(n.name)}`, n);
  }

  nodes(): Promise<{ nodes: NodeRecord[] }> {
    return this.#call('GET', '/v1/nodes');
  }

  /** Delete finished tasks now (`keeper tasks prune`); unset fields take the queen's retention policy. */
  prune(req: PruneRequest): Promise<PruneResponse> {
    return this.#call('POST', '/v1/admin/prune', req);
  }

  shutdown(keepHives: boolean): Promise<unknown> {
    return this.#call('POST', '/v1/admin/shutdown', { keepHives });
  }

  /** Write a file or glob (absolute, on the queen's machine) as the frame's next version; waits for it. */
  writeFrame(name: string, req: Partial<WriteRequest> & { path: string }, signal?: AbortSignal): Promise<WriteResponse> {
    return this.#call('POST', `/v1/frames/${encodeURIComponent(name)}/write`, req, signal);
  }

  /** Stream a local file to the queen as the input of a write (for a queen on another machine). */
  uploadFrame(
    name: string,
    file: string,
    q: { format: string; mode?: string; partitionBy?: string; maxAttempts?: number; timeoutMs?: number },
    signal?: AbortSignal,
  ): Promise<WriteResponse> {
    const opt = (k: string, v: string | number | undefined) => (v === undefined ? {} : { [k]: String(v) });
    const params = new URLSearchParams({
      format: q.format,
      ...opt('mode', q.mode),
      ...opt('partitionBy', q.partitionBy),
      ...opt('maxAttempts', q.maxAttempts),
      ...opt('timeoutMs', q.timeoutMs),
    });
    const headers = { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(file).size) };
    return this.#send<WriteResponse>('PUT', `/v1/frames/${encodeURIComponent(name)}/upload?${params}`, headers, createReadStream(file), signal);
  }

  frames(): Promise<{ frames: FrameSummary[] }> {
    return this.#call('GET', '/v1/frames');
  }

  frame(name: string): Promise<FrameDetail> {
    return this.#call('GET', `/v1/frames/${encodeURIComponent(name)}`);
  }

  dropFrame(name: string): Promise<{ frame: string; cells_deleted: number }> {
    return this.#call('DELETE', `/v1/frames/${encodeURIComponent(name)}`);
  }

  /** Submit and wait until the task is terminal, long-polling in 30 s slices. */
  async run(
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
      await followTask(
        this.url,
        this.token,
        t.id,
        (e) => {
          seen.add(e.attempt);
          onOutput(e);
        },
        signal,
      );
    }
    while (t.state === 'queued' || t.state === 'running') t = await this.get(t.id, 30_000, signal);
    if (onOutput) {
      // Attempts that finished before the stream was up (or without it): their saved output.
      for (const a of t.attempts) {
        if (a.output && !seen.has(a.attempt)) onOutput({ id: t.id, attempt: a.attempt, stream: 'stdout', data: a.output, cut: 0, at: Date.now() });
      }
    }
    return t;
  }
}
