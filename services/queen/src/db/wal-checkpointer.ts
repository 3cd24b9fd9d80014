import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '@apiary/runtime';

/** How often the checkpointer thread looks at the WAL's backlog (one 100-byte read of the -shm file). */
export const CHECK_EVERY_MS = 100;
/** SQLite's own auto-checkpoint size (pages): the thread checkpoints at the same backlog, and it is put back whenever the thread is not running. */
export const AUTO_CHECKPOINT_PAGES = 1000;

// Plain CommonJS for an eval worker: its own connection, 'ready' once open so the queen turns its
// own auto-checkpoint off. The backlog (frames not yet copied into the database) is the wal-index
// header's mxFrame (offset 16) minus the checkpoint info's nBackfill (offset 96), native byte order
// (sqlite.org/walformat.html); a PASSIVE checkpoint never waits for the writer nor blocks it. A
// checkpoint per tick instead cost more CPU than it saved: hot pages were copied over and over.
const WORKER_SOURCE = `
const fs = require('node:fs');
const os = require('node:os');
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true, timeout: 5000 });
db.pragma('synchronous = NORMAL');
const shm = fs.openSync(workerData.file + '-shm', 'r');
const buf = Buffer.alloc(100);
const u32 = os.endianness() === 'LE' ? (o) => buf.readUInt32LE(o) : (o) => buf.readUInt32BE(o);
const backlog = () => (fs.readSync(shm, buf, 0, 100, 0) === 100 ? u32(16) - u32(96) : Infinity);
const timer = setInterval(() => {
  try { if (backlog() >= workerData.pages) db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage({ warn: String(e && e.message) }); }
}, workerData.everyMs);
parentPort.postMessage({ ready: true });
parentPort.on('message', () => { clearInterval(timer); fs.closeSync(shm); db.close(); parentPort.close(); });
`;

/**
 * Checkpoints the queen's WAL from a worker thread with its own connection. SQLite's auto-checkpoint
 * runs inside the commit that crosses 1,000 WAL pages, on the event loop: it copies ~4 MB and fsyncs
 * twice (measured 6-28 ms on a loaded 2-core VM), once every ~100 lone tasks — the p99 of a lone
 * task (issue 10). Here the same checkpoint, at the same backlog, runs beside the event loop; until
 * the thread is open, and after it stops or fails, the connection's own auto-checkpoint is on.
 */
export class WalCheckpointer {
  #worker: Worker | null;
  #stopped = false;

  private constructor(
    private readonly db: Database.Database,
    file: string,
    private readonly log: Logger,
    everyMs: number,
    pages: number,
  ) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sqlite, file, everyMs, pages } });
    this.#worker.unref();
    this.#worker.on('message', (m: { ready?: boolean; warn?: string }) => {
      if (m.ready && !this.#stopped) this.#autoCheckpoint(0);
      if (m.warn) this.log.warn(`WAL checkpoint failed (retried next tick): ${m.warn}`);
    });
    this.#worker.on('error', (e) => this.#gone(`failed: ${e.message}`));
    this.#worker.on('exit', () => this.#gone('exited'));
  }

  /** Checkpoint `file` (the WAL database `db` is open on) when `pages` frames wait, looking every `everyMs`. */
  static start(db: Database.Database, file: string, log: Logger, everyMs = CHECK_EVERY_MS, pages = AUTO_CHECKPOINT_PAGES): WalCheckpointer {
    return new WalCheckpointer(db, file, log, everyMs, pages);
  }

  /** Stop the thread (before the database closes); the connection checkpoints for itself again. */
  async stop(): Promise<void> {
    const w = this.#worker;
    if (!w || this.#stopped) return;
    this.#stopped = true;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    // The thread is unref'd while it runs; during the stop it must hold the loop open, or the queen's
    // process ends (with nothing else left) before the stop resolves and the code after it runs.
    w.ref();
    w.postMessage('stop');
    await exited;
  }

  #gone(why: string): void {
    if (!this.#worker) return;
    this.#worker = null;
    if (!this.#stopped) this.log.warn(`the WAL checkpointer thread ${why}; the queen checkpoints in its commits again`);
    this.#autoCheckpoint(AUTO_CHECKPOINT_PAGES);
  }

  #autoCheckpoint(pages: number): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${pages}`);
  }
}
