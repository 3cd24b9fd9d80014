import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, RotatingFile } from '../src/index.js';

describe('RotatingFile', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-rotate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('caps the log: at most `files` files, none over maxBytes, the newest lines in the live file', () => {
    const file = path.join(dir, 'logs', 'queen.log');
    const maxBytes = 4096;
    const f = new RotatingFile(file, maxBytes, 3);
    const line = (i: number) => `${String(i).padStart(6, '0')} ${'x'.repeat(93)}\n`; // 101 bytes
    const n = 1000; // ~100 KB written: 25 times the cap
    for (let i = 0; i < n; i++) f.write(line(i));
    f.close();
    expect(readdirSync(path.dirname(file)).sort()).toEqual(['queen.log', 'queen.log.1', 'queen.log.2']);
    for (const name of readdirSync(path.dirname(file))) expect(statSync(path.join(path.dirname(file), name)).size).toBeLessThanOrEqual(maxBytes);
    const live = readFileSync(file, 'utf8');
    expect(live.endsWith(line(n - 1))).toBe(true);
    // Rotation moves whole files: the three hold the last lines without a gap, oldest in .2.
    const all = ['queen.log.2', 'queen.log.1', 'queen.log'].map((x) => readFileSync(path.join(path.dirname(file), x), 'utf8')).join('');
    const numbers = all
      .trimEnd()
      .split('\n')
      .map((l) => Number(l.slice(0, 6)));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => n - numbers.length + i));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('appends to an existing file and counts its size, so a restart does not reset the cap', () => {
    const file = path.join(dir, 'hive.log');
    const a = new RotatingFile(file, 2048, 2);
    a.write(`${'a'.repeat(1500)}\n`);
    a.close();
    const b = new RotatingFile(file, 2048, 2);
    b.write(`${'b'.repeat(1000)}\n`);
    b.close();
    expect(readFileSync(`${file}.1`, 'utf8')).toBe(`${'a'.repeat(1500)}\n`);
    expect(readFileSync(file, 'utf8')).toBe(`${'b'.repeat(1000)}\n`);
    expect(existsSync(`${file}.2`)).toBe(false);
  });

  it('JSON lines through the logger parse one by one and carry the shared fields', () => {
    const file = path.join(dir, 'q.log');
    const f = new RotatingFile(file, 64 * 1024, 2);
    // The suite runs at warn (vitest.config.ts); this test needs its info lines.
    const level = process.env.APIARY_LOG_LEVEL;
    process.env.APIARY_LOG_LEVEL = 'info';
    let log: ReturnType<typeof createLogger>;
    try {
      log = createLogger('queen', (l) => f.write(l), 'json').child('gw');
    } finally {
      process.env.APIARY_LOG_LEVEL = level;
    }
    log.info('hive joined', { hive: 'pi1#1', pid: 42 });
    log.warn(`evil\nname \u2028 \x1b[2J`, { code: 'AUTH_FAILED', task: 't-1', bee: 0 });
    log.relay('bee-0', 'out one\nout two\n');
    f.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs[0]).toMatchObject({ level: 'info', component: 'queen/gw', msg: 'hive joined', hive: 'pi1#1', pid: process.pid, pid_: 42 });
    expect(typeof recs[0]!.time).toBe('string');
    expect(recs[1]).toMatchObject({ level: 'warn', msg: `evil\nname \u2028 \x1b[2J`, code: 'AUTH_FAILED', task: 't-1', bee: 0 });
    // The raw line has no control character and no line separator: one record, one line.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    expect(lines[1]).not.toMatch(/[\x00-\x1f\x7f\u2028\u2029]/);
    expect(recs.slice(2).map((r) => [r.source, r.msg])).toEqual([
      ['bee-0', 'out one'],
      ['bee-0', 'out two'],
    ]);
  });
});
