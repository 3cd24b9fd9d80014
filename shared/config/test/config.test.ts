import { describe, expect, it } from 'vitest';
import { MIN_MEMORY_PER_BEE, parseDuration, parseSize, resolveHiveConfig, resolveQueenConfig } from '../src/index.js';

describe('units', () => {
  it('parses sizes: decimal MB/GB, binary MiB/GiB and bare k/m/g', () => {
    expect(parseSize('256MB')).toBe(256e6);
    expect(parseSize('256MiB')).toBe(256 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseSize('1024')).toBe(1024);
    expect(() => parseSize('lots')).toThrow(/"lots" is not a size/);
    expect(() => parseSize('12 parsecs')).toThrow(/not a size/);
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('soon')).toThrow(/"soon" is not a duration/);
  });
});

describe('config resolution', () => {
  const base = { queenUrl: 'ws://127.0.0.1:1/v1/hive', joinToken: 'j'.repeat(20), cacheDir: '/tmp/x' };

  it('fills defaults and freezes', () => {
    const c = resolveHiveConfig({ ...base, bees: 2, memoryPerBee: '256MiB' });
    expect(c).toMatchObject({
      bees: 2,
      memoryPerBeeBytes: 256 * 1024 ** 2,
      taskTimeoutMs: 30_000,
      heartbeatMs: 1000,
      memoryPollMs: 100,
      graceMs: 5000,
      ephemeral: false,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses a budget below the floor and a short token, naming the field', () => {
    expect(() => resolveHiveConfig({ ...base, memoryPerBee: MIN_MEMORY_PER_BEE - 1 })).toThrow(/memoryPerBeeBytes is below the floor of 192 MiB/);
    expect(() => resolveHiveConfig({ ...base, joinToken: 'short' })).toThrow(/joinToken/);
    expect(() => resolveQueenConfig({ clientToken: 'c'.repeat(20), joinToken: 'j'.repeat(20), port: 70000 })).toThrow(/port/);
  });

  it('binds the queen to loopback by default', () => {
    expect(resolveQueenConfig({ clientToken: 'c'.repeat(20), joinToken: 'j'.repeat(20) }).host).toBe('127.0.0.1');
  });
});
