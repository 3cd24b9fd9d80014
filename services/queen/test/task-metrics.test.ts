import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../../../e2e/helpers/prom-text.js';
import { taskMetrics } from '../src/metrics/task-metrics.js';

describe('task metrics', () => {
  it('counts by kind/outcome and code, buckets run times by le (inclusive), and folds unknown codes into UNKNOWN', async () => {
    const reg = new Registry();
    const o = taskMetrics(reg);
    o.finished('sql', 'succeeded', 10); // exactly 0.01 s: in the le="0.01" bucket
    o.finished('sql', 'succeeded', 11);
    o.finished('sql', 'failed', 3_600_000); // past the last bucket: only +Inf
    o.finished('js', 'cancelled', null); // never ran: counted, not observed
    for (const code of ['OK', 'OK', 'BEE_MEMORY_EXCEEDED', 'made up by a hive']) o.attemptEnded(code);
    const e = parseExposition(await reg.metrics());
    expect(sampleValue(e, 'apiary_tasks_total', { kind: 'sql', outcome: 'succeeded' })).toBe(2);
    expect(sampleValue(e, 'apiary_tasks_total', { kind: 'sql', outcome: 'failed' })).toBe(1);
    expect(sampleValue(e, 'apiary_tasks_total', { kind: 'js', outcome: 'cancelled' })).toBe(1);
    const bucket = (le: string) => sampleValue(e, 'apiary_task_duration_seconds_bucket', { kind: 'sql', le });
    expect([bucket('0.01'), bucket('0.05'), bucket('1800'), bucket('+Inf')]).toEqual([1, 2, 2, 3]);
    expect(sampleValue(e, 'apiary_task_duration_seconds_count', { kind: 'sql' })).toBe(3);
    expect(sampleValue(e, 'apiary_task_duration_seconds_sum', { kind: 'sql' })).toBeCloseTo(3600.021, 6);
    expect(e.samples.some((s) => s.name.startsWith('apiary_task_duration_seconds') && s.labels.kind === 'js')).toBe(false);
    expect(sampleValue(e, 'apiary_task_attempts_total', { code: 'OK' })).toBe(2);
    expect(sampleValue(e, 'apiary_task_attempts_total', { code: 'BEE_MEMORY_EXCEEDED' })).toBe(1);
    expect(sampleValue(e, 'apiary_task_attempts_total', { code: 'UNKNOWN' })).toBe(1);
    expect(e.samples.filter((s) => s.name === 'apiary_task_attempts_total')).toHaveLength(3);
  });
});
