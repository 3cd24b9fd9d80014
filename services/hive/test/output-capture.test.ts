import { describe, expect, it } from 'vitest';
import { TASK_OUTPUT_MAX_BYTES } from '@apiary/protocol';
import { OutputCapture, type OutputChunk } from '../src/output-capture.js';

function capture() {
  const sent: { chunks: OutputChunk[]; cut: number }[] = [];
  return { sent, cap: new OutputCapture((chunks, cut) => sent.push({ chunks, cut })) };
}

describe('OutputCapture', () => {
  it('a task that prints nothing sends nothing, even when closed', () => {
    const { sent, cap } = capture();
    cap.flush();
    cap.close();
    expect(sent).toEqual([]);
  });

  it('sends what waits in one message, consecutive chunks of a stream merged, streams in arrival order', () => {
    const { sent, cap } = capture();
    cap.append('stdout', Buffer.from('a\n'));
    cap.append('stdout', Buffer.from('b\n'));
    cap.append('stderr', Buffer.from('warn\n'));
    cap.append('stdout', Buffer.from('c\n'));
    cap.close();
    expect(sent).toEqual([
      {
        chunks: [
          { stream: 'stdout', data: 'a\nb\n' },
          { stream: 'stderr', data: 'warn\n' },
          { stream: 'stdout', data: 'c\n' },
        ],
        cut: 0,
      },
    ]);
  });

  it('keeps at most TASK_OUTPUT_MAX_BYTES waiting: the oldest bytes go and are counted as cut', () => {
    const { sent, cap } = capture();
    const line = Buffer.from(`${'x'.repeat(1023)}\n`);
    const lines = (3 * TASK_OUTPUT_MAX_BYTES) / line.length;
    for (let i = 0; i < lines; i++) cap.append('stdout', line);
    cap.append('stdout', Buffer.from('END\n'));
    cap.close();
    expect(sent).toHaveLength(1);
    const data = sent[0]!.chunks.map((c) => c.data).join('');
    expect(Buffer.byteLength(data)).toBe(TASK_OUTPUT_MAX_BYTES);
    expect(data.endsWith('END\n')).toBe(true);
    expect(sent[0]!.cut).toBe(3 * TASK_OUTPUT_MAX_BYTES + 4 - TASK_OUTPUT_MAX_BYTES);
  });

  it('a multi-byte character split across two reads arrives whole', () => {
    const { sent, cap } = capture();
    const euro = Buffer.from('€\n'); // e2 82 ac 0a
    cap.append('stdout', euro.subarray(0, 2));
    cap.flush();
    cap.append('stdout', euro.subarray(2));
    cap.close();
    expect(sent.flatMap((s) => s.chunks.map((c) => c.data)).join('')).toBe('€\n');
  });
});
