import { StringDecoder } from 'node:string_decoder';
import { TASK_OUTPUT_MAX_BYTES, type OutputStream } from '@apiary/protocol';
import type { Job } from './chamber-job.js';

/** Output waits this long to be sent with what follows it: one message per burst, not per console.log. */
export const OUTPUT_FLUSH_MS = 100;

export interface OutputChunk {
  stream: OutputStream;
  data: string;
}

/** Where a flush goes: the hive sends it to the queen as one `task.output` message. */
export type OutputSink = (chunks: OutputChunk[], cut: number) => void;

/**
 * The stdout/stderr of one running task, as its bee's pipes deliver it. Chunks wait up to
 * OUTPUT_FLUSH_MS and go out together; at most TASK_OUTPUT_MAX_BYTES wait at once (the oldest are
 * dropped and counted as `cut`), so a task printing in a loop costs the link at most 64 KiB per
 * flush. A task that prints nothing costs nothing: no timer, no message.
 */
export class OutputCapture {
  #pending: { stream: OutputStream; buf: Buffer }[] = [];
  #bytes = 0;
  #cut = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(private readonly sink: OutputSink) {}

  append(stream: OutputStream, buf: Buffer): void {
    this.#pending.push({ stream, buf });
    this.#bytes += buf.length;
    while (this.#bytes > TASK_OUTPUT_MAX_BYTES) {
      const head = this.#pending[0]!;
      const over = this.#bytes - TASK_OUTPUT_MAX_BYTES;
      if (head.buf.length <= over) {
        this.#pending.shift();
        this.#bytes -= head.buf.length;
        this.#cut += head.buf.length;
      } else {
        head.buf = head.buf.subarray(over);
        this.#bytes -= over;
        this.#cut += over;
      }
    }
    this.#timer ??= setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
  }

  /** Text the bee sent over IPC for its task (BeeOutput); `cut`: bytes the bee dropped before it. */
  appendText(stream: OutputStream, data: string, cut = 0): void {
    this.#cut += cut;
    this.append(stream, Buffer.from(data));
  }

  /** Send what is waiting now (the task ended, or the flush window closed). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const chunks: OutputChunk[] = [];
    for (const { stream, buf } of this.#pending) {
      const data = this.#decoders[stream].write(buf);
      const last = chunks[chunks.length - 1];
      if (last && last.stream === stream) last.data += data;
      else if (data !== '') chunks.push({ stream, data });
    }
    const cut = this.#cut;
    this.#pending = [];
    this.#bytes = 0;
    this.#cut = 0;
    if (chunks.length > 0 || cut > 0) this.sink(chunks, cut);
  }

  /** The task is over: send the rest (including a trailing partial UTF-8 sequence) and stop. */
  close(): void {
    this.flush();
    const tail = (['stdout', 'stderr'] as const).map((stream) => ({ stream, data: this.#decoders[stream].end() })).filter((c) => c.data !== '');
    if (tail.length > 0) this.sink(tail, 0);
  }
}

/**
 * Whose output a bee's pipes carry now: its running task's (the head of its pipeline), until that
 * task's end, a turn of the loop past its result, for what is still in the pipes. What the task's JS
 * code prints comes over IPC tagged with its task (captureFor), exact even when the next task already
 * runs; only a child's writes to the inherited fds go by the pipes. A capture is made at a task's
 * first output (most tasks print nothing).
 */
export class OutputRoute {
  /** Where a task's flushes go (the hive sends them to the queen); null: nothing is captured. */
  sink: ((job: Job, chunks: OutputChunk[], cut: number) => void) | null = null;
  #job: Job | null = null;
  readonly #captures = new Map<Job, OutputCapture>();

  /** `job` runs now: the pipes' output is its. */
  begin(job: Job): void {
    this.#job = job;
  }

  /** The capture of the task whose output the pipes carry; null: none (the hive's log takes it). */
  capture(): OutputCapture | null {
    return this.#job ? this.captureFor(this.#job) : null;
  }

  /** `job`'s capture, made now if it has none yet; null without a sink. */
  captureFor(job: Job): OutputCapture | null {
    const sink = this.sink;
    if (!sink) return null;
    let c = this.#captures.get(job);
    if (!c) {
      c = new OutputCapture((chunks, cut) => sink(job, chunks, cut));
      this.#captures.set(job, c);
    }
    return c;
  }

  /** `job`'s output is complete: send the rest; the pipes stop carrying its output if they still did. */
  end(job: Job): void {
    if (this.#job === job) this.#job = null;
    const c = this.#captures.get(job);
    if (!c) return;
    this.#captures.delete(job);
    c.close();
  }
}
