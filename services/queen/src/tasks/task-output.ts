import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { TASK_OUTPUT_CUT_MARKER, TASK_OUTPUT_MAX_BYTES, type TaskOutput, type TaskOutputEvent } from '@apiary/protocol';

/** Where finished attempts' output is kept. */
export interface OutputStore {
  save(taskId: string, attempt: number, output: string): void;
  /** Output per attempt number, for attempts that printed. */
  read(taskId: string): Map<number, string>;
}

/**
 * The daemon's: the `output` column of the attempts table (migration 4), so retention's delete of a
 * task takes its output with it. The ledger writes attempt rows behind a short window; an attempt
 * row that is not there yet is flushed first.
 */
export class SqliteOutputStore implements OutputStore {
  readonly #set: Statement<[string, string, number]>;
  readonly #get: Statement<[string], { attempt: number; output: string }>;

  constructor(
    db: Database.Database,
    private readonly flushLedger: () => void,
  ) {
    this.#set = db.prepare('UPDATE attempts SET output = ? WHERE task_id = ? AND attempt = ?');
    this.#get = db.prepare('SELECT attempt, output FROM attempts WHERE task_id = ? AND output IS NOT NULL ORDER BY attempt');
  }

  save(taskId: string, attempt: number, output: string): void {
    if (this.#set.run(output, taskId, attempt).changes > 0) return;
    this.flushLedger();
    this.#set.run(output, taskId, attempt);
  }

  read(taskId: string): Map<number, string> {
    return new Map(this.#get.all(taskId).map((r) => [r.attempt, r.output]));
  }
}

/** An ephemeral queen's: in memory, for the newest MEMORY_OUTPUT_TASKS tasks that printed. */
const MEMORY_OUTPUT_TASKS = 1000;
export class MemoryOutputStore implements OutputStore {
  readonly #byTask = new Map<string, Map<number, string>>();

  save(taskId: string, attempt: number, output: string): void {
    let m = this.#byTask.get(taskId);
    if (!m) {
      m = new Map();
      this.#byTask.set(taskId, m);
      for (const oldest of this.#byTask.keys()) {
        if (this.#byTask.size <= MEMORY_OUTPUT_TASKS) break;
        this.#byTask.delete(oldest);
      }
    }
    m.set(attempt, output);
  }

  read(taskId: string): Map<number, string> {
    return new Map(this.#byTask.get(taskId) ?? []);
  }
}

interface Live {
  attempt: number;
  text: string;
  cut: boolean;
}

/** Attempts printing at once beyond this lose their live buffer oldest first (a hive lost mid-task leaves one behind). */
const MAX_LIVE = 10_000;

/**
 * Task output at the queen: what running attempts printed so far (the last TASK_OUTPUT_MAX_BYTES
 * each), streamed to listeners as it arrives, and saved with the attempt when its result comes.
 */
export class TaskOutputs {
  readonly #live = new Map<string, Live>();
  readonly #listeners = new Set<(e: TaskOutputEvent) => void>();
  #appended = 0;

  constructor(readonly store: OutputStore) {}

  /**
   * How many output messages came so far (any task). Unchanged across a task's whole life means it
   * printed nothing, and its answer needs no output lookup (POST /v1/tasks?waitMs).
   */
  get appended(): number {
    return this.#appended;
  }

  /** A `task.output` message the caller checked came from the hive holding that attempt. */
  append(msg: TaskOutput): void {
    this.#appended++;
    let l = this.#live.get(msg.taskId);
    if (!l || l.attempt !== msg.attempt) {
      l = { attempt: msg.attempt, text: '', cut: false };
      this.#live.delete(msg.taskId);
      this.#live.set(msg.taskId, l);
      for (const oldest of this.#live.keys()) {
        if (this.#live.size <= MAX_LIVE) break;
        this.#live.delete(oldest);
      }
    }
    if (msg.cut > 0) l.cut = true;
    const at = Date.now();
    let first = true;
    for (const c of msg.chunks) {
      l.text += c.data;
      const ev: TaskOutputEvent = { id: msg.taskId, attempt: msg.attempt, stream: c.stream, data: c.data, cut: first ? msg.cut : 0, at };
      first = false;
      for (const f of this.#listeners) f(ev);
    }
    const trimmed = tail(l.text);
    if (trimmed !== l.text) {
      l.text = trimmed;
      l.cut = true;
    }
  }

  /** The attempt ended (its result came): keep what it printed with it. */
  finish(taskId: string, attempt: number): void {
    const l = this.#live.get(taskId);
    if (!l || l.attempt !== attempt) return;
    this.#live.delete(taskId);
    this.store.save(taskId, attempt, render(l));
  }

  /** Every attempt's output: saved ones, and the running attempt's so far. */
  outputs(taskId: string): Map<number, string> {
    const m = this.store.read(taskId);
    const l = this.#live.get(taskId);
    if (l) m.set(l.attempt, render(l));
    return m;
  }

  /** The running attempt's output so far, as one event (for a stream that joins late). */
  current(taskId: string): TaskOutputEvent | null {
    const l = this.#live.get(taskId);
    return l && l.text !== '' ? { id: taskId, attempt: l.attempt, stream: 'stdout', data: render(l), cut: 0, at: Date.now() } : null;
  }

  onOutput(f: (e: TaskOutputEvent) => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }
}

function render(l: Live): string {
  return l.cut ? TASK_OUTPUT_CUT_MARKER + l.text : l.text;
}

/** The last TASK_OUTPUT_MAX_BYTES of `text` (UTF-8), cut at a character boundary. */
function tail(text: string): string {
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip measuring what is surely small.
  if (text.length * 3 <= TASK_OUTPUT_MAX_BYTES) return text;
  const buf = Buffer.from(text);
  if (buf.length <= TASK_OUTPUT_MAX_BYTES) return text;
  let start = buf.length - TASK_OUTPUT_MAX_BYTES;
  // Skip UTF-8 continuation bytes (10xxxxxx): start on a character.
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString();
}
