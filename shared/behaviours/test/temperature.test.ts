import { describe, expect, it } from 'vitest';
import { ApiaryError, BeeStatus } from '@apiary/protocol';
import {
  TEMPERATURE_THRESHOLDS,
  admit,
  classifyTemperature,
  computeTemperature,
  isAtLeast,
  queuePressure,
  regulate,
  retryAfterMs,
  temperatureFromBees,
  temperatureInputFromBees,
  type Temperature,
} from '../src/index.js';
import { configInvalid } from './assert.js';

const MiB = 1024 * 1024;

function bee(over: Partial<BeeStatus> & { id: number }): BeeStatus {
  return BeeStatus.parse({
    pid: 1000 + over.id,
    state: 'idle',
    taskId: null,
    rssBytes: 0,
    budgetBytes: 400 * MiB,
    cpuPercent: 0,
    tasksRun: 0,
    restarts: 0,
    ...over,
  });
}

describe('classifyTemperature', () => {
  it.each([
    [0, 'cold'],
    [0.2999, 'cold'],
    [0.3, 'ideal'],
    [0.5, 'ideal'],
    [0.6999, 'ideal'],
    [0.7, 'warm'],
    [0.8499, 'warm'],
    [0.85, 'hot'],
    [0.9499, 'hot'],
    [0.95, 'critical'],
    [1, 'critical'],
  ] as const)('%f is %s', (value, level) => {
    expect(classifyTemperature(value)).toBe(level);
  });

  it('clamps values outside [0, 1] and refuses NaN', () => {
    expect(classifyTemperature(-0.5)).toBe('cold');
    expect(classifyTemperature(1.5)).toBe('critical');
    expect(classifyTemperature(Infinity)).toBe('critical');
    expect(() => classifyTemperature(Number.NaN)).toThrow(RangeError);
  });

  it('exposes the thresholds and an ordering', () => {
    expect(TEMPERATURE_THRESHOLDS).toEqual({ ideal: 0.3, warm: 0.7, hot: 0.85, critical: 0.95 });
    expect(isAtLeast('critical', 'hot')).toBe(true);
    expect(isAtLeast('hot', 'hot')).toBe(true);
    expect(isAtLeast('warm', 'hot')).toBe(false);
    expect(isAtLeast('cold', 'cold')).toBe(true);
  });
});

describe('computeTemperature', () => {
  it('applies T = 0.4·cpu + 0.4·mem + 0.2·min(queued / 2·bees, 1) (hand-computed)', () => {
    // 0.4·0.5 + 0.4·0.25 + 0.2·(3/8) = 0.2 + 0.1 + 0.075
    expect(computeTemperature({ cpu: 0.5, memoryPressure: 0.25, queued: 3, bees: 4 })).toEqual({
      value: 0.375,
      level: 'ideal',
      cpu: 0.5,
      memoryPressure: 0.25,
      queuePressure: 0.375,
    });
    // 0.4·0.25 + 0.4·0.5 + 0.2·(1/8) = 0.1 + 0.2 + 0.025
    expect(computeTemperature({ cpu: 0.25, memoryPressure: 0.5, queued: 1, bees: 4 }).value).toBe(0.325);
    // 0.4·0.9 + 0.4·0.95 + 0.2·min(8/8, 1) = 0.36 + 0.38 + 0.2
    const hot = computeTemperature({ cpu: 0.9, memoryPressure: 0.95, queued: 8, bees: 4 });
    expect(hot).toMatchObject({ value: 0.94, level: 'hot', queuePressure: 1 });
    // queue term saturates at 1
    expect(computeTemperature({ cpu: 0, memoryPressure: 0, queued: 1000, bees: 4 })).toMatchObject({ value: 0.2, level: 'cold', queuePressure: 1 });
    expect(computeTemperature({ cpu: 0, memoryPressure: 0, queued: 0, bees: 4 })).toMatchObject({ value: 0, level: 'cold' });
    expect(computeTemperature({ cpu: 1, memoryPressure: 1, queued: 100, bees: 2 })).toMatchObject({ value: 1, level: 'critical' });
  });

  it('lands exactly on each threshold despite floating point', () => {
    // 0.4·0.75 = 0.30000000000000004 → 0.3
    expect(computeTemperature({ cpu: 0.75, memoryPressure: 0, queued: 0, bees: 1 })).toMatchObject({ value: 0.3, level: 'ideal' });
    // 0.4 + 0.4·0.75 = 0.7000000000000001 → 0.7
    expect(computeTemperature({ cpu: 1, memoryPressure: 0.75, queued: 0, bees: 1 })).toMatchObject({ value: 0.7, level: 'warm' });
    // 0.8 + 0.2·(1/4) = 0.85
    expect(computeTemperature({ cpu: 1, memoryPressure: 1, queued: 1, bees: 2 })).toMatchObject({ value: 0.85, level: 'hot' });
    // 0.8 + 0.2·(3/4) = 0.9500000000000001 → 0.95
    expect(computeTemperature({ cpu: 1, memoryPressure: 1, queued: 3, bees: 2 })).toMatchObject({ value: 0.95, level: 'critical' });
  });

  it('rounds to 3 decimals and classifies the rounded value', () => {
    const t = computeTemperature({ cpu: 1 / 3, memoryPressure: 0, queued: 0, bees: 1 });
    expect(t.value).toBe(0.133);
    expect(t.cpu).toBe(0.333);
    // raw 0.29996 rounds to 0.3, and the level agrees with the reported value
    expect(computeTemperature({ cpu: 0.7499, memoryPressure: 0, queued: 0, bees: 1 })).toMatchObject({ value: 0.3, level: 'ideal' });
    // raw 0.2994 rounds to 0.299 and stays cold
    expect(computeTemperature({ cpu: 0.7485, memoryPressure: 0, queued: 0, bees: 1 })).toMatchObject({ value: 0.299, level: 'cold' });
  });

  it('clamps every input', () => {
    expect(computeTemperature({ cpu: 2, memoryPressure: -1, queued: -5, bees: 3 })).toEqual({
      value: 0.4,
      level: 'ideal',
      cpu: 1,
      memoryPressure: 0,
      queuePressure: 0,
    });
    expect(computeTemperature({ cpu: Number.NaN, memoryPressure: Infinity, queued: Number.NaN, bees: 3 })).toMatchObject({
      value: 0.4,
      cpu: 0,
      memoryPressure: 1,
      queuePressure: 0,
    });
    expect(computeTemperature({ cpu: 5, memoryPressure: 5, queued: 5, bees: 1 })).toMatchObject({ value: 1, level: 'critical' });
  });

  it('bees = 0: queue term is 1 when anything is queued, else 0', () => {
    expect(queuePressure(0, 0)).toBe(0);
    expect(queuePressure(1, 0)).toBe(1);
    expect(queuePressure(1, 1)).toBe(0.5);
    expect(queuePressure(2, 1)).toBe(1);
    expect(computeTemperature({ cpu: 0, memoryPressure: 0, queued: 0, bees: 0 })).toMatchObject({ value: 0, queuePressure: 0 });
    expect(computeTemperature({ cpu: 0, memoryPressure: 0, queued: 1, bees: 0 })).toMatchObject({ value: 0.2, queuePressure: 1 });
  });

  it('uses the larger of bee and host memory pressure', () => {
    expect(computeTemperature({ cpu: 0, memoryPressure: 0.2, hostMemoryPressure: 0.6, queued: 0, bees: 1 })).toMatchObject({
      value: 0.24,
      memoryPressure: 0.6,
    });
    expect(computeTemperature({ cpu: 0, memoryPressure: 0.6, hostMemoryPressure: 0.2, queued: 0, bees: 1 })).toMatchObject({
      value: 0.24,
      memoryPressure: 0.6,
    });
  });
});

describe('temperature from BeeStatus lists', () => {
  it('averages capped CPU and sums memory over bees that have not exited', () => {
    const bees = [
      bee({ id: 0, state: 'idle', cpuPercent: 50, rssBytes: 100 * MiB }),
      bee({ id: 1, state: 'busy', cpuPercent: 150, rssBytes: 300 * MiB }), // two cores of its tree: counts as 1
      bee({ id: 2, state: 'exited', cpuPercent: 100, rssBytes: 400 * MiB }), // ignored
    ];
    const input = temperatureInputFromBees(bees, 2);
    expect(input).toEqual({ cpu: 0.75, memoryPressure: 0.5, queued: 2, bees: 2 });
    // 0.4·0.75 + 0.4·0.5 + 0.2·(2/4) = 0.3 + 0.2 + 0.1
    expect(temperatureFromBees(bees, 2)).toEqual({ value: 0.6, level: 'ideal', cpu: 0.75, memoryPressure: 0.5, queuePressure: 0.5 });
  });

  it('counts starting and stopping bees as live', () => {
    const bees = [bee({ id: 0, state: 'starting', cpuPercent: 100 }), bee({ id: 1, state: 'stopping', cpuPercent: 0 })];
    expect(temperatureInputFromBees(bees, 0)).toMatchObject({ cpu: 0.5, bees: 2 });
  });

  it('weights memory by budget, not by bee', () => {
    const bees = [bee({ id: 0, rssBytes: 100 * MiB, budgetBytes: 100 * MiB }), bee({ id: 1, rssBytes: 0, budgetBytes: 300 * MiB })];
    expect(temperatureInputFromBees(bees, 0).memoryPressure).toBe(0.25);
  });

  it('clamps memory pressure when bees are over budget', () => {
    const bees = [bee({ id: 0, rssBytes: 500 * MiB, budgetBytes: 400 * MiB })];
    expect(temperatureInputFromBees(bees, 0).memoryPressure).toBe(1);
  });

  it('no live bees: zero cpu and memory, queue term 1 if queued', () => {
    expect(temperatureInputFromBees([], 0)).toEqual({ cpu: 0, memoryPressure: 0, queued: 0, bees: 0 });
    const gone = [bee({ id: 0, state: 'exited', cpuPercent: 100, rssBytes: 400 * MiB })];
    expect(temperatureFromBees(gone, 1)).toEqual({ value: 0.2, level: 'cold', cpu: 0, memoryPressure: 0, queuePressure: 1 });
  });

  it('passes host memory pressure through', () => {
    const bees = [bee({ id: 0, rssBytes: 40 * MiB })];
    expect(temperatureInputFromBees(bees, 0, { hostMemoryPressure: 0.9 })).toMatchObject({ memoryPressure: 0.1, hostMemoryPressure: 0.9 });
    expect(temperatureFromBees(bees, 0, { hostMemoryPressure: 0.9 })).toMatchObject({ memoryPressure: 0.9, value: 0.36 });
  });

  it('a saturated colony is critical', () => {
    const bees = [0, 1, 2, 3].map((id) => bee({ id, state: 'busy', cpuPercent: 100, rssBytes: 390 * MiB }));
    // 0.4·1 + 0.4·0.975 + 0.2·1 = 0.99
    expect(temperatureFromBees(bees, 8)).toMatchObject({ value: 0.99, level: 'critical' });
  });
});

describe('regulation', () => {
  it('admits queries below critical and refuses them at critical with a retryable COLONY_CRITICAL', () => {
    expect(admit('query', 0)).toEqual({ action: 'admit' });
    expect(admit('query', 0.9499)).toEqual({ action: 'admit' });
    const d = admit('query', 0.95);
    expect(d).toMatchObject({ action: 'refuse', retryable: true, retryAfterMs: 1000, error: { code: 'COLONY_CRITICAL' } });
    if (d.action !== 'refuse') throw new Error('unreachable');
    expect(d.error.details).toMatchObject({ temperature: 0.95, level: 'critical', kind: 'query', retryAfterMs: 1000 });
    expect(d.error.message).toContain('0.950');
    const err = ApiaryError.fromWire(d.error);
    expect(err.code).toBe('COLONY_CRITICAL');
  });

  it('scales retryAfterMs with T from 1000 ms at 0.95 to 5000 ms at 1', () => {
    expect(retryAfterMs(0.95)).toBe(1000);
    expect(retryAfterMs(0.975)).toBe(3000);
    expect(retryAfterMs(0.99)).toBe(4200);
    expect(retryAfterMs(1)).toBe(5000);
    expect(retryAfterMs(0.5)).toBe(1000);
    expect(retryAfterMs(2)).toBe(5000);
    expect(retryAfterMs(0.975, { minRetryAfterMs: 0, maxRetryAfterMs: 100 })).toBe(50);
    expect(admit('query', 1)).toMatchObject({ action: 'refuse', retryAfterMs: 5000 });
    configInvalid(() => retryAfterMs(1, { minRetryAfterMs: 5000, maxRetryAfterMs: 1000 }));
    configInvalid(() => retryAfterMs(1, { minRetryAfterMs: -1 }));
  });

  it('admits writes below hot and makes them wait, bounded, at hot', () => {
    expect(admit('write', 0.8499)).toEqual({ action: 'admit' });
    expect(admit('write', 0.85)).toEqual({ action: 'wait', maxWaitMs: 10_000, recheckMs: 250 });
    expect(admit('write', 0.9, { waitedMs: 4_000 })).toEqual({ action: 'wait', maxWaitMs: 6_000, recheckMs: 250 });
    expect(admit('write', 0.9, { waitedMs: 9_900 })).toEqual({ action: 'wait', maxWaitMs: 100, recheckMs: 100 });
    // the bound is spent: a merely hot colony lets the write through
    expect(admit('write', 0.9, { waitedMs: 10_000 })).toEqual({ action: 'admit' });
    expect(admit('write', 0.9, { waitedMs: 12_000 })).toEqual({ action: 'admit' });
    expect(admit('write', 0.9, { writeMaxWaitMs: 0 })).toEqual({ action: 'admit' });
    expect(admit('write', 0.9, { writeMaxWaitMs: 2_000, recheckMs: 500 })).toEqual({ action: 'wait', maxWaitMs: 2_000, recheckMs: 500 });
  });

  it('writes wait at critical too, and are refused once the bound is spent', () => {
    expect(admit('write', 0.97)).toEqual({ action: 'wait', maxWaitMs: 10_000, recheckMs: 250 });
    expect(admit('write', 0.97, { waitedMs: 10_000 })).toMatchObject({
      action: 'refuse',
      retryable: true,
      retryAfterMs: 2600,
      error: { code: 'COLONY_CRITICAL', details: { kind: 'write' } },
    });
  });

  it('accepts a Temperature object and gives both decisions', () => {
    const t: Temperature = computeTemperature({ cpu: 1, memoryPressure: 1, queued: 1, bees: 2 }); // 0.85 hot
    expect(regulate(t)).toEqual({ query: { action: 'admit' }, write: { action: 'wait', maxWaitMs: 10_000, recheckMs: 250 } });
    const c = computeTemperature({ cpu: 1, memoryPressure: 1, queued: 3, bees: 2 }); // 0.95 critical
    expect(regulate(c).query).toMatchObject({ action: 'refuse', retryAfterMs: 1000 });
    expect(regulate(0.1)).toEqual({ query: { action: 'admit' }, write: { action: 'admit' } });
  });

  it('refuses invalid options and NaN temperatures', () => {
    configInvalid(() => admit('write', 0.9, { waitedMs: -1 }));
    configInvalid(() => admit('write', 0.9, { writeMaxWaitMs: Number.NaN }));
    expect(() => admit('query', Number.NaN)).toThrow(RangeError);
  });
});
