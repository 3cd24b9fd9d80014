import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Agent, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiaryError } from '@apiary/protocol';
import { queenAgent, queenRequest } from './queen-http.js';

interface Entry {
  file: string;
  bytes: number;
  usedAt: number;
  pins: number;
}

/**
 * The cells a remote hive has fetched from its queen, kept on local disk up to maxBytes and evicted
 * least recently used first (never while a task reads them). Every download is checked against the
 * cell's sha256 before it is used.
 */
export class CellCache {
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  #bytes = 0;
  readonly #agent: Agent | undefined;

  /** `fingerprint`: an https queen's pinned certificate (see queen-http.ts). */
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly baseUrl: string,
    private readonly token: string,
    fingerprint?: string,
  ) {
    this.#agent = queenAgent(baseUrl, fingerprint);
  }

  /** Pick up what an earlier run of this hive left in the cache dir. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.part')) await rm(p, { force: true });
        else {
          const st = await stat(p);
          this.#entries.set(path.relative(this.dir, p), { file: p, bytes: st.size, usedAt: st.mtimeMs, pins: 0 });
          this.#bytes += st.size;
        }
      }
    };
    await walk(this.dir);
  }

  /** Cells held, as paths relative to the queen's data root (reported in heartbeats). */
  held(): string[] {
    return [...this.#entries.keys()];
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The local copy of `rel`, fetched (and verified) if needed, and pinned until unpin(). */
  async acquire(rel: string, sha256?: string): Promise<string> {
    let e = this.#entries.get(rel);
    if (!e) {
      let p = this.#loading.get(rel);
      if (!p) {
        p = this.#fetch(rel, sha256).finally(() => this.#loading.delete(rel));
        this.#loading.set(rel, p);
      }
      e = await p;
    }
    e.pins++;
    e.usedAt = Date.now();
    return e.file;
  }

  unpin(rel: string): void {
    const e = this.#entries.get(rel);
    if (e && e.pins > 0) e.pins--;
  }

  async #fetch(rel: string, sha256: string | undefined): Promise<Entry> {
    const file = path.join(this.dir, rel);
    const part = `${file}.part`;
    await mkdir(path.dirname(file), { recursive: true });
    const fail = (why: string) => new ApiaryError('CELL_FETCH_FAILED', `cannot fetch ${rel} from the queen: ${why}`);
    let res: IncomingMessage;
    try {
      res = await queenRequest(`${this.baseUrl}/v1/cells/${rel}`, { method: 'GET', headers: { authorization: `Bearer ${this.token}` }, agent: this.#agent });
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw fail(`HTTP ${res.statusCode}`);
    }
    const hash = createHash('sha256');
    try {
      await pipeline(
        res,
        async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(part),
      );
    } catch (e) {
      await rm(part, { force: true });
      throw fail((e as Error).message);
    }
    const got = hash.digest('hex');
    if (sha256 && got !== sha256) {
      await rm(part, { force: true });
      throw fail(`sha256 ${got} does not match the catalog's ${sha256}`);
    }
    await rename(part, file);
    const bytes = (await stat(file)).size;
    const e: Entry = { file, bytes, usedAt: Date.now(), pins: 0 };
    this.#entries.set(rel, e);
    this.#bytes += bytes;
    await this.#evict();
    return e;
  }

  /** Least recently used first, skipping pinned cells; may stay over budget while everything is in use. */
  async #evict(): Promise<void> {
    if (this.#bytes <= this.maxBytes) return;
    const victims = [...this.#entries].filter(([, e]) => e.pins === 0).sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [rel, e] of victims) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(rel);
      this.#bytes -= e.bytes;
      await rm(e.file, { force: true });
    }
  }

  /**
   * Download `urlPath` (under /v1/cells/, e.g. a running write's input) to `dest`, outside the cache:
   * the caller owns the file. A failure is CELL_FETCH_FAILED and leaves no file. A body the queen
   * marks `x-apiary-tail-of: <n>` (a Parquet footer for a schema probe) is the end of an n-byte
   * file: it is written there, in a sparse file of that size.
   */
  async download(urlPath: string, dest: string): Promise<void> {
    const fail = (why: string) => new ApiaryError('CELL_FETCH_FAILED', `cannot fetch ${urlPath} from the queen: ${why}`);
    let res: IncomingMessage;
    try {
      res = await queenRequest(`${this.baseUrl}/v1/cells/${urlPath}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.token}` },
        agent: this.#agent,
      });
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw fail(`HTTP ${res.statusCode}`);
    }
    try {
      const tailOf = res.headers['x-apiary-tail-of'];
      if (tailOf === undefined) {
        await pipeline(res, createWriteStream(dest));
        return;
      }
      const size = Number(tailOf);
      const len = Number(res.headers['content-length']);
      if (!Number.isSafeInteger(size) || !Number.isSafeInteger(len) || len > size) throw new Error(`a tail of ${len} bytes of a ${size}-byte file`);
      await writeFile(dest, '');
      await truncate(dest, size);
      await pipeline(res, createWriteStream(dest, { flags: 'r+', start: size - len }));
    } catch (e) {
      res.destroy();
      await rm(dest, { force: true });
      throw fail((e as Error).message);
    }
  }

  /**
   * Send a body of unknown length (chunked) to the queen's `rel`: a streamed result, as the bee
   * writes it (spool-sender.ts). Resolves once the queen has stored all of it.
   */
  async streamUp(body: Readable, rel: string): Promise<void> {
    let res: IncomingMessage;
    try {
      res = await queenRequest(`${this.baseUrl}/v1/cells/${rel.split('/').map(encodeURIComponent).join('/')}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/x-ndjson' },
        body,
        agent: this.#agent,
      });
    } catch (e) {
      throw new ApiaryError('CELL_FETCH_FAILED', `cannot stream ${rel} to the queen: ${(e as Error).message}`);
    }
    res.resume();
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new ApiaryError('CELL_FETCH_FAILED', `the queen refused ${rel}: HTTP ${status}`);
  }

  /**
   * Send a file the queen asked for to `rel` under its data root: a query partial or result, or a
   * cell of a write, with its sha256 (the bee's for a cell, else hashed here), which the queen checks
   * against the bytes it receives.
   */
  async upload(file: string, rel: string, sha256?: string): Promise<void> {
    const st = await stat(file);
    if (sha256 === undefined) {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
      sha256 = h.digest('hex');
    }
    let res: IncomingMessage;
    try {
      res = await queenRequest(`${this.baseUrl}/v1/cells/${rel.split('/').map(encodeURIComponent).join('/')}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(st.size),
          'x-apiary-sha256': sha256,
        },
        body: createReadStream(file),
        agent: this.#agent,
      });
    } catch (e) {
      throw new ApiaryError('CELL_FETCH_FAILED', `cannot send ${rel} to the queen: ${(e as Error).message}`);
    }
    res.resume();
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new ApiaryError('CELL_FETCH_FAILED', `the queen refused ${rel}: HTTP ${status}`);
  }
}
