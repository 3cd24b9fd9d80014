import { describe, expect, it } from 'vitest';
import type { Job } from '../src/chamber-job.js';
import { type OutputChunk, OutputRoute } from '../src/output-capture.js';

const job = (taskId: string): Job => ({ taskId, attempt: 1, token: 't', spec: { kind: 'js', module: '/m.mjs', export: 'default' }, limits: {}, avoidBees: [] });

function route() {
  const sent: { taskId: string; chunks: OutputChunk[] }[] = [];
  const r = new OutputRoute();
  r.sink = (j, chunks) => sent.push({ taskId: j.taskId, chunks });
  return { r, sent };
}

describe('OutputRoute', () => {
  it('routes output to the task it belongs to, a capture per task, each sent once its task ends', () => {
    const { r, sent } = route();
    const a = job('a');
    const b = job('b');
    r.begin(a);
    r.capture()?.append('stdout', Buffer.from('a-out\n'));
    // The capture is the same one for all of a's output.
    expect(r.capture()).toBe(r.capture());
    r.end(a);
    r.begin(b);
    r.capture()?.append('stderr', Buffer.from('b-err\n'));
    r.end(b);
    expect(sent).toEqual([
      { taskId: 'a', chunks: [{ stream: 'stdout', data: 'a-out\n' }] },
      { taskId: 'b', chunks: [{ stream: 'stderr', data: 'b-err\n' }] },
    ]);
  });

  it('a task that prints nothing gets no capture and sends nothing; between tasks output goes to the log (null)', () => {
    const { r, sent } = route();
    const a = job('a');
    r.begin(a);
    r.end(a);
    expect(sent).toEqual([]);
    expect(r.capture()).toBeNull();
  });

  it("ending a task that is no longer routed (the next one began) leaves the next task's output alone", () => {
    const { r, sent } = route();
    const a = job('a');
    const b = job('b');
    r.begin(a);
    r.begin(b);
    r.capture()?.append('stdout', Buffer.from('b-out\n'));
    r.end(a);
    expect(sent).toEqual([]);
    r.end(b);
    expect(sent).toEqual([{ taskId: 'b', chunks: [{ stream: 'stdout', data: 'b-out\n' }] }]);
  });

  it('without a sink nothing is captured (the hive log takes the output)', () => {
    const r = new OutputRoute();
    r.begin(job('a'));
    expect(r.capture()).toBeNull();
  });
});
