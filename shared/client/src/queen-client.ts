import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiaryError,
  BatchAccepted,
  ColonyView,
  CreatedToken,
  FrameDetail,
  FrameDropped,
  FrameList,
  NodeList,
  NodeRecord,
  type PruneRequest,
  ProgressView,
  PruneResponse,
  REQUEST_ID_HEADER,
  SqlResponse,
  Stopping,
  type TaskLimits,
  TaskList,
  type TaskSpec,
  type TaskState,
  TaskView,
  TokenInfo,
  TokenList,
  VacuumResponse,
  type TokenScope,
  type UploadQuery,
  WireErrorSchema,
  type WriteRequest,
  WriteResponse,
} from '@apiary/protocol';
import type { z } from 'zod';
import { type RawResponse, request } from './request.js';

/**
 * Waits between submission retries after a connection failure: about 8 s in all, enough for a
 * daemon to be restarted by its supervisor; each retry carries the first attempt's Idempotency-Key.
 */
const SUBMIT_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000];

export interface ClientOptions {
  /** The agent for a request to this URL (keeper pins a queen's certificate with one). */
  agentFor?: (url: string) => Agent | undefined;
}

/**
 * The queen's /v1 API (keeper, e2e tests, benches), on node:http (./request.ts) rather than fetch:
 * fetch gives up on a response after 300 s without headers, and the queen answers a long query or
 * write when it is done. Every answer is checked against the protocol schema of its route (the
 * same schema the queen's route declares): a queen that answers off-contract is an INTERNAL error
 * naming the route and the field, not a value of the wrong shape somewhere later.
 */
export class QueenClient {
  constructor(
    readonly url: string,
    protected readonly token: string,
    private readonly opts: ClientOptions = {},
  ) {}

  protected async call<S extends z.ZodType>(
    answer: S,
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    extra: Record<string, string> = {},
  ): Promise<z.output<S>> {
    const headers: Record<string, string> = { ...extra, authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.send(answer, method, path, headers, body === undefined ? undefined : JSON.stringify(body), signal);
  }

  protected async send<S extends z.ZodType>(
    answer: S,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | NodeJS.ReadableStream | undefined,
    signal?: AbortSignal,
  ): Promise<z.output<S>> {
    let res: RawResponse;
    try {
      const agent = this.opts.agentFor?.(this.url + path);
      res = await request(this.url + path, { method, headers, body, signal, ...(agent ? { agent } : {}) });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      // TLS_PIN_MISMATCH: the queen was reached, and refused for its certificate.
      if (e instanceof ApiaryError) throw e;
      // The cause lets a submission tell 'nothing listens' from 'the connection broke' (submitOnce).
      throw new ApiaryError('QUEEN_UNREACHABLE', `cannot reach the queen at ${this.url}: ${(e as Error).message}`, undefined, { cause: e });
    }
    let json: unknown = null;
    try {
      json = JSON.parse(res.text);
    } catch {
      // not JSON: reported below by status
    }
    if (res.status < 200 || res.status >= 300) {
      const w = WireErrorSchema.safeParse(json);
      if (w.success) throw new ApiaryError(w.data.code as ApiaryError['code'], w.data.message);
      throw new ApiaryError('INTERNAL', `HTTP ${res.status} from the queen`);
    }
    const r = answer.safeParse(json);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ApiaryError('INTERNAL', `the queen's answer to ${method} ${path.split('?')[0]} does not match the protocol${where}: ${issue?.message}`);
  }

  submit(spec: TaskSpec, limits: TaskLimits = {}, waitMs = 0, signal?: AbortSignal): Promise<TaskView> {
    return this.submitOnce(TaskView, 'POST', `/v1/tasks?waitMs=${waitMs}`, { spec, limits }, signal);
  }

  /**
   * A submission with an Idempotency-Key, retried with the same key while the queen cannot be
   * reached (refused, reset, or the answer lost): the queen creates the task(s) at most once, and a
   * retry of a request it did take gets the same ids.
   */
  private async submitOnce<S extends z.ZodType>(answer: S, method: string, path: string, body: unknown, signal?: AbortSignal): Promise<z.output<S>> {
    const key = randomUUID();
    for (let i = 0; ; i++) {
      try {
        return await this.call(answer, method, path, body, signal, { 'idempotency-key': key });
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
    return this.call(CreatedToken, 'POST', '/v1/admin/tokens', name === undefined ? { scope } : { scope, name });
  }

  listTokens(): Promise<TokenList> {
    return this.call(TokenList, 'GET', '/v1/admin/tokens');
  }

  revokeToken(id: string): Promise<TokenInfo> {
    return this.call(TokenInfo, 'DELETE', `/v1/admin/tokens/${encodeURIComponent(id)}`);
  }

  get(id: string, waitMs = 0, signal?: AbortSignal): Promise<TaskView> {
    return this.call(TaskView, 'GET', `/v1/tasks/${encodeURIComponent(id)}?waitMs=${waitMs}`, undefined, signal);
  }

  cancel(id: string): Promise<TaskView> {
    return this.call(TaskView, 'DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
  }

  /** SQL that may name frames, answered whole (format json): the queen plans it and bees run it. */
  sql(
    sql: string,
    o: { explain?: boolean; limits?: TaskLimits; into?: string; intoMode?: 'append' | 'overwrite'; requestId?: string } = {},
    signal?: AbortSignal,
  ): Promise<SqlResponse> {
    const body = { sql, explain: o.explain ?? false, limits: o.limits ?? {}, ...(o.into ? { into: o.into, intoMode: o.intoMode ?? 'overwrite' } : {}) };
    return this.call(SqlResponse, 'POST', '/v1/sql', body, signal, requestIdHeader(o.requestId));
  }

  colony(): Promise<ColonyView> {
    return this.call(ColonyView, 'GET', '/v1/colony');
  }

  list(state?: TaskState, limit = 50): Promise<TaskList> {
    return this.call(TaskList, 'GET', `/v1/tasks?limit=${limit}${state ? `&state=${state}` : ''}`);
  }

  submitBatch(tasks: { spec: TaskSpec; limits?: TaskLimits }[]): Promise<BatchAccepted> {
    return this.submitOnce(BatchAccepted, 'POST', '/v1/tasks/batch', { tasks: tasks.map((t) => ({ spec: t.spec, limits: t.limits ?? {} })) });
  }

  waitMany(ids: string[], waitMs: number): Promise<TaskList> {
    return this.call(TaskList, 'POST', '/v1/tasks/wait', { ids, waitMs });
  }

  /** Ask the queen to stop one hive; false when it has no such hive connected. */
  async stopHive(name: string, graceMs?: number): Promise<boolean> {
    try {
      await this.call(Stopping, 'POST', `/v1/hives/${encodeURIComponent(name)}/shutdown`, graceMs === undefined ? {} : { graceMs });
      return true;
    } catch (e) {
      if ((e as ApiaryError).code === 'HIVE_NOT_FOUND') return false;
      throw e;
    }
  }

  putNode(n: NodeRecord): Promise<NodeRecord> {
    return this.call(NodeRecord, 'PUT', `/v1/nodes/${encodeURIComponent(n.name)}`, n);
  }

  nodes(): Promise<NodeList> {
    return this.call(NodeList, 'GET', '/v1/nodes');
  }

  /** Delete finished tasks now (`keeper tasks prune`); unset fields take the queen's retention policy. */
  prune(req: PruneRequest): Promise<PruneResponse> {
    return this.call(PruneResponse, 'POST', '/v1/admin/prune', req);
  }

  shutdown(keepHives: boolean): Promise<Stopping> {
    return this.call(Stopping, 'POST', '/v1/admin/shutdown', { keepHives });
  }

  /**
   * Write a file or glob (absolute, on the queen's machine) as the frame's next version; waits for it.
   * With `requestId`, progress(requestId) tells how far it is meanwhile.
   */
  writeFrame(name: string, req: Partial<WriteRequest> & { path: string }, signal?: AbortSignal, requestId?: string): Promise<WriteResponse> {
    return this.call(WriteResponse, 'POST', `/v1/frames/${encodeURIComponent(name)}/write`, req, signal, requestIdHeader(requestId));
  }

  /** Stream a local file to the queen as the input of a write (for a queen on another machine). */
  uploadFrame(name: string, file: string, q: Partial<UploadQuery> & { format: string }, signal?: AbortSignal, requestId?: string): Promise<WriteResponse> {
    const opt = (k: string, v: string | number | undefined) => (v === undefined ? {} : { [k]: String(v) });
    const params = new URLSearchParams({
      format: q.format,
      ...opt('mode', q.mode),
      ...opt('partitionBy', q.partitionBy),
      ...opt('maxAttempts', q.maxAttempts),
      ...opt('timeoutMs', q.timeoutMs),
    });
    const headers = {
      ...requestIdHeader(requestId),
      authorization: `Bearer ${this.token}`,
      'content-type': 'application/octet-stream',
      'content-length': String(statSync(file).size),
    };
    return this.send(WriteResponse, 'PUT', `/v1/frames/${encodeURIComponent(name)}/upload?${params}`, headers, createReadStream(file), signal);
  }

  /** How far a running write or query sent with this request id is; PROGRESS_NOT_FOUND before it starts and after it ends. */
  progress(requestId: string, signal?: AbortSignal): Promise<ProgressView> {
    return this.call(ProgressView, 'GET', `/v1/progress/${encodeURIComponent(requestId)}`, undefined, signal);
  }

  frames(): Promise<FrameList> {
    return this.call(FrameList, 'GET', '/v1/frames');
  }

  frame(name: string): Promise<FrameDetail> {
    return this.call(FrameDetail, 'GET', `/v1/frames/${encodeURIComponent(name)}`);
  }

  dropFrame(name: string): Promise<FrameDropped> {
    return this.call(FrameDropped, 'DELETE', `/v1/frames/${encodeURIComponent(name)}`);
  }

  /** Delete versions past the queen's --keep-versions and their cells: of one frame, or of all without a name. */
  vacuumFrames(name?: string): Promise<VacuumResponse> {
    return this.call(VacuumResponse, 'POST', '/v1/frames/vacuum', name === undefined ? {} : { frame: name });
  }

  /** Submit and wait until the task is terminal, long-polling in 30 s slices. */
  async run(spec: TaskSpec, limits: TaskLimits, signal?: AbortSignal, onSubmitted?: (id: string) => void): Promise<TaskView> {
    const t = await this.submit(spec, limits, 0, signal);
    onSubmitted?.(t.id);
    return this.settle(t, signal);
  }

  /** Long-poll a task until it is terminal. */
  protected async settle(t: TaskView, signal?: AbortSignal): Promise<TaskView> {
    while (t.state === 'queued' || t.state === 'running') t = await this.get(t.id, 30_000, signal);
    return t;
  }
}

/** The header that names a request for GET /v1/progress/:id (none without an id). */
function requestIdHeader(id: string | undefined): Record<string, string> {
  return id === undefined ? {} : { [REQUEST_ID_HEADER]: id };
}
