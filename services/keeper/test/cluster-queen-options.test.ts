import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags, QUEEN_FLAGS, queenOptionsFromArgs, resolveQueenConfig, toArgv } from '@apiary/config';
import { parseCluster } from '../src/cluster/file/index.js';
import { clusterQueenArgs } from '../src/cluster/queen-args.js';

const base = '/work/cluster-dir';
const file = (queenExtra: string) => `cluster: t
queen:
  address: 127.0.0.1
${queenExtra}hosts:
  - name: pi1
    address: 10.0.0.11
    user: pi
`;
const parse = (queenExtra: string) => parseCluster(file(queenExtra), 'cluster.yaml', { baseDir: base });

/** What the queen process makes of the argv `keeper cluster up` gives it: its own parser and config. */
function queenSees(argv: string[]) {
  const args = parseFlags(QUEEN_FLAGS, argv);
  const ctx = { home: '/tmp/h5-home', clientToken: 'c'.repeat(16), joinToken: 'j'.repeat(16), logFormat: 'json' as const };
  return resolveQueenConfig(queenOptionsFromArgs(args, ctx));
}

const ALL = `  hive_timeout: 10s
  data_root: frames-data
  cell_bytes: 64MiB
  min_cell_bytes: 4MiB
  keep_versions: 3
  retain_for: 2d
  retain_tasks: 5000
  prune_every: 30s
  metrics_host: 127.0.0.1
  metrics_port: 9464
`;

describe('cluster.yaml queen options', () => {
  it('each option reaches the queen that cluster up starts, through the queen’s own flag parser', () => {
    const c = parse(ALL);
    expect(c.queen.flags).toEqual({
      'hive-timeout': 10_000,
      'data-root': path.join(base, 'frames-data'),
      'cell-bytes': 64 * 2 ** 20,
      'min-cell-bytes': 4 * 2 ** 20,
      'keep-versions': 3,
      'retain-for': 2 * 86_400_000,
      'retain-tasks': 5000,
      'prune-every': 30_000,
      'metrics-host': '127.0.0.1',
      'metrics-port': 9464,
    });
    const q = queenSees(toArgv(QUEEN_FLAGS, clusterQueenArgs(c)));
    expect(q).toMatchObject({
      host: '127.0.0.1',
      port: 7474,
      localHive: false,
      hiveTimeoutMs: 10_000,
      dataRoot: path.join(base, 'frames-data'),
      cellBytes: 64 * 2 ** 20,
      minCellBytes: 4 * 2 ** 20,
      keepVersions: 3,
      retentionMaxAgeMs: 2 * 86_400_000,
      retentionMaxTasks: 5000,
      retentionIntervalMs: 30_000,
      metrics: { host: '127.0.0.1', port: 9464 },
    });
  });

  it('without options the queen keeps its defaults', () => {
    const c = parse('');
    expect(c.queen.flags).toEqual({});
    const q = queenSees(toArgv(QUEEN_FLAGS, clusterQueenArgs(c)));
    const defaults = resolveQueenConfig({ clientToken: 'c'.repeat(16), joinToken: 'j'.repeat(16), home: '/tmp/h5-home' });
    expect(q).toMatchObject({
      hiveTimeoutMs: defaults.hiveTimeoutMs,
      keepVersions: defaults.keepVersions,
      retentionMaxAgeMs: defaults.retentionMaxAgeMs,
      metrics: null,
    });
  });

  it.each([
    ['a value outside the queen’s range', '  keep_versions: 0\n', 'queen.keep_versions', /out of the queen's range: .*>=1/],
    ['a duration under the queen’s floor', '  hive_timeout: 50ms\n', 'queen.hive_timeout', /out of the queen's range \(in ms\): .*>=100/],
    ['a size that does not parse', '  cell_bytes: lots\n', 'queen.cell_bytes', /expected a size, e.g. 64MiB, got "lots"/],
    ['an integer given as text', '  retain_tasks: many\n', 'queen.retain_tasks', /expected an integer, got "many"/],
  ])('%s is CONFIG_INVALID at its key', (_what, extra, field, message) => {
    let err: unknown;
    try {
      parse(extra);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    const line = (err as Error).message;
    expect(line).toMatch(new RegExp(`^cluster\\.yaml:4:\\d+: ${field.replace('.', '\\.')}: `));
    expect(line).toMatch(message);
  });

  it('options the queen refuses together are CONFIG_INVALID with the queen’s reason', () => {
    expect(() => parse('  cell_bytes: 1MiB\n  min_cell_bytes: 4MiB\n')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/queen: the queen refuses these options together: cell size \d+ is below the minimum cell size/),
      }),
    );
    expect(() => parse('  metrics_host: 127.0.0.1\n')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('metrics host given without a metrics port') }),
    );
  });

  it('a misspelt option is suggested; a queen flag that is not for a cluster file is an unknown key', () => {
    expect(() => parse('  hive_timout: 10s\n')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('queen.hive_timout: unknown key; did you mean hive_timeout?') }),
    );
    for (const flag of ['home', 'bees', 'log_file', 'ephemeral']) {
      expect(() => parse(`  ${flag}: x\n`)).toThrow(expect.objectContaining({ message: expect.stringContaining(`queen.${flag}: unknown key`) }));
    }
  });
});
