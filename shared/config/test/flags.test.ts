import { describe, expect, it } from 'vitest';
import {
  argsOf,
  flagValues,
  HIVE_FLAGS,
  hiveOptionProblem,
  hiveOptionsFromArgs,
  parseFlags,
  QUEEN_FLAGS,
  queenOptionsFromArgs,
  resolveHiveConfig,
  resolveQueenConfig,
  toArgv,
  toJson,
  usageLine,
  type HiveArgs,
  type QueenArgs,
} from '../src/index.js';

const TOKEN = 't'.repeat(20);
const ctx = { home: '/tmp/apiary-flags-test', clientToken: TOKEN, joinToken: TOKEN, logFormat: 'json' as const };

describe('flag tables: one definition per flag, parsed and built from it', () => {
  it('a queen command line built from values parses back to the same values (every kind)', () => {
    const a: QueenArgs = {
      host: '0.0.0.0',
      port: 7575,
      ephemeral: true,
      'no-local-hive': true,
      bees: 3,
      'memory-per-bee': 512 * 1024 ** 2,
      timeout: 1500,
      grace: 250,
      'data-root': '/srv/data',
      'min-cell-bytes': 4096,
      'cell-bytes': 1 << 20,
      'tls-name': ['a.example', '10.0.0.2'],
      'retain-for': 7 * 86_400_000,
      'retain-tasks': 10,
      'log-format': 'pretty',
    };
    const argv = toArgv(QUEEN_FLAGS, a);
    expect(argv).toContain('--no-local-hive');
    expect(argv.join(' ')).toContain('--timeout 1500ms');
    expect(argv.filter((x) => x === '--tls-name')).toHaveLength(2);
    expect(parseFlags(QUEEN_FLAGS, argv)).toEqual(a);
  });

  it('a hive config file (JSON keyed by flag) reads back as the same values; durations carry their unit', () => {
    const a: HiveArgs = { queen: 'ws://q:1/v1/hive', name: 'pi-1', bees: 2, 'memory-per-bee': 256 * 1024 ** 2, timeout: 30_000, grace: 5000, ephemeral: true };
    const json = toJson(HIVE_FLAGS, a);
    expect(json).toMatchObject({ bees: 2, timeout: '30000ms', grace: '5000ms', ephemeral: true });
    expect(flagValues(HIVE_FLAGS, JSON.parse(JSON.stringify(json)) as Record<string, unknown>)).toEqual(a);
  });

  it('hive options → flags → options is the identity for every option the table maps', () => {
    const o = {
      queenUrl: 'wss://q:1/v1/hive',
      joinToken: TOKEN,
      name: 'h',
      bees: 2,
      memoryPerBee: 300 * 1024 ** 2,
      reserveMemory: 1024 ** 3,
      taskTimeout: 2000,
      memoryPollMs: 50,
      graceMs: 100,
      cacheDir: '/tmp/c',
      ephemeral: true,
      fetchCells: 'never' as const,
      cellCache: 32 * 1024 ** 2,
      queenFingerprint: 'ab'.repeat(32),
    };
    const back = hiveOptionsFromArgs(parseFlags(HIVE_FLAGS, toArgv(HIVE_FLAGS, argsOf(HIVE_FLAGS, o))), TOKEN, o.queenUrl);
    expect(back).toEqual(o);
    expect(resolveHiveConfig(back)).toMatchObject({ bees: 2, memoryPerBeeBytes: o.memoryPerBee, taskTimeoutMs: 2000, fetchCells: 'never' });
  });

  it("the queen's local-hive flags reach its local hive, --grace both, --no-local-hive none", () => {
    const a = parseFlags(QUEEN_FLAGS, [
      '--bees',
      '2',
      '--memory-per-bee',
      '256MiB',
      '--timeout',
      '5s',
      '--grace',
      '2s',
      '--data-root',
      '/d',
      '--cell-bytes',
      '1MiB',
    ]);
    const cfg = resolveQueenConfig(queenOptionsFromArgs(a, ctx));
    expect(cfg.localHive).toMatchObject({ bees: 2, memoryPerBee: 256 * 1024 ** 2, taskTimeout: 5000, graceMs: 2000 });
    expect(cfg).toMatchObject({ graceMs: 2000, dataRoot: '/d', cellBytes: 1024 ** 2 });
    // The local hive's fields are not the queen's own.
    expect(queenOptionsFromArgs(a, ctx)).not.toHaveProperty('bees');
    expect(resolveQueenConfig(queenOptionsFromArgs(parseFlags(QUEEN_FLAGS, ['--no-local-hive']), ctx)).localHive).toBe(false);
  });

  it('--keep-versions sets how many frame versions the queen keeps: default 2, at least 1', () => {
    const keep = (argv: string[]) => resolveQueenConfig(queenOptionsFromArgs(parseFlags(QUEEN_FLAGS, argv), ctx)).keepVersions;
    expect(keep([])).toBe(2);
    expect(keep(['--keep-versions', '5'])).toBe(5);
    expect(() => keep(['--keep-versions', '0'])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/keepVersions/) }));
  });

  it('an unknown flag, a stray argument or a malformed value is USAGE naming the flag; bounds stay CONFIG_INVALID', () => {
    expect(() => parseFlags(QUEEN_FLAGS, ['--frobnicate'])).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/frobnicate/) }));
    expect(() => parseFlags(HIVE_FLAGS, ['stray'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseFlags(HIVE_FLAGS, ['--grace', 'soon'])).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/--grace: "soon" is not a duration/) }),
    );
    // Not a number reaches the schema, which names the field (the queen's --metrics-port nine has always been CONFIG_INVALID).
    const a = parseFlags(QUEEN_FLAGS, ['--metrics-port', 'nine']);
    expect(() => resolveQueenConfig(queenOptionsFromArgs(a, ctx))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/metrics/) }),
    );
  });

  it("a caller checks one value against the hive schema's own bounds", () => {
    expect(hiveOptionProblem('bees', 0)).toBe('must be a whole number from 1 to 256');
    expect(hiveOptionProblem('bees', Number.NaN)).toBe('must be a whole number from 1 to 256');
    expect(hiveOptionProblem('bees', 256)).toBeNull();
    expect(hiveOptionProblem('memoryPerBeeBytes', 10e6)).toMatch(/below the floor of 192 MiB/);
    expect(hiveOptionProblem('taskTimeoutMs', 5)).toBe('must be at least 10ms');
  });

  it('the usage line names every flag, wrapped', () => {
    const u = usageLine(QUEEN_FLAGS);
    for (const k of Object.keys(QUEEN_FLAGS)) expect(u).toContain(`--${k}`);
    expect(Math.max(...u.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });
});
