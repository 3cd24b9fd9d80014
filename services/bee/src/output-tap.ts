import { StringDecoder } from 'node:string_decoder';
import type { BeeOutput } from '@apiary/protocol';

/**
 * Bytes of task output that may wait in the IPC channel's write queue: beyond it, output is dropped
 * and counted (`cut` on the next output message). A task printing in a tight loop would otherwise
 * queue without bound (the pipes it wrote to before blocked it instead); the hive keeps at most 64 KiB
 * per flush of it anyway (TASK_OUTPUT_MAX_BYTES).
 */
export const OUTPUT_BACKLOG_BYTES = 4 * 1024 * 1024;

type Stream = 'stdout' | 'stderr';

/**
 * Sends what task code writes to process.stdout/stderr (console included) to the hive over IPC,
 * tagged with the task that runs (`owner()`): with tasks queued in a bee, the pipes cannot tell one
 * task's output from the next one's. Sent at once, one message per write, so output printed before
 * a task hangs still reaches the hive; and before the task's result, on the same channel, so it is
 * never late. With no task running (or no channel), writes go to the pipes as before.
 *
 * Bytes are decoded per task: the returned `end(taskId)`, called before a task's result, ends its
 * decoders (a character its last bytes left unfinished becomes U+FFFD in its own output), so those
 * bytes never prefix the next task's output.
 */
export function tapOutput(owner: () => string | null, send: (m: BeeOutput) => void): (taskId: string) => void {
  let cut = 0;
  const ends: ((taskId: string) => void)[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    // Made at a task's first byte write (most tasks write strings or nothing) and dropped at its end.
    let decoder: StringDecoder | null = null;
    let decoderTask: string | null = null;
    const decoderFor = (taskId: string): StringDecoder => {
      if (decoder === null || decoderTask !== taskId) {
        decoder = new StringDecoder('utf8');
        decoderTask = taskId;
      }
      return decoder;
    };
    ends.push((taskId) => {
      if (decoder === null || decoderTask !== taskId) return;
      const rest = decoder.end();
      decoder = null;
      decoderTask = null;
      if (rest !== '' && process.connected) send({ type: 'output', taskId, stream: name, data: rest });
    });
    stream.write = ((chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      const taskId = owner();
      if (taskId === null || !process.connected) return write(chunk, encoding, cb);
      const done = typeof encoding === 'function' ? encoding : cb;
      const text = toText(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined, taskId, decoderFor);
      const backlog = (process.channel as unknown as { writeQueueSize?: number } | undefined)?.writeQueueSize ?? 0;
      if (backlog > OUTPUT_BACKLOG_BYTES) cut += Buffer.byteLength(text);
      else if (text !== '') {
        send({ type: 'output', taskId, stream: name as Stream, data: text, ...(cut > 0 ? { cut } : {}) });
        cut = 0;
      }
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    }) as typeof stream.write;
  }
  return (taskId) => {
    for (const end of ends) end(taskId);
  };
}

function toText(chunk: unknown, encoding: BufferEncoding | undefined, taskId: string, decoderFor: (taskId: string) => StringDecoder): string {
  if (typeof chunk === 'string') {
    return encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? decoderFor(taskId).write(Buffer.from(chunk, encoding)) : chunk;
  }
  if (chunk instanceof Uint8Array) return decoderFor(taskId).write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return String(chunk);
}
