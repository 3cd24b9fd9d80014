import type { TaskSpec } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { checkTaskPaths } from '../src/task-paths.js';

const ROOT = '/srv/apiary/data';
const write = (outDir: string): TaskSpec => ({ kind: 'write', inputs: ['/home/me/in.csv'], format: 'csv', outDir, targetCellBytes: 1, maxCellBytes: 2 });
const fsql = (over: Partial<Extract<TaskSpec, { kind: 'fsql' }>>): TaskSpec => ({
  kind: 'fsql',
  sql: 'SELECT 1',
  views: { t: [`${ROOT}/frames/t/v1/c0.parquet`] },
  allowDirs: [ROOT],
  into: `${ROOT}/queries/q/partial-0.parquet`,
  ...over,
});

describe('checkTaskPaths (hive-side fence for internal task kinds)', () => {
  it('passes what the queen makes: staging dirs, cells, partials, the root itself; inputs may be anywhere', () => {
    expect(() => checkTaskPaths(write(`${ROOT}/staging/t/w1/t0`), ROOT)).not.toThrow();
    expect(() => checkTaskPaths(fsql({}), ROOT)).not.toThrow();
    expect(() => checkTaskPaths(fsql({ allowDirs: [`${ROOT}/`] }), ROOT)).not.toThrow();
    expect(() => checkTaskPaths({ kind: 'sql', sql: 'SELECT 1' }, undefined)).not.toThrow();
  });

  it.each([
    ['write outDir outside', write('/home/me'), /outDir "\/home\/me" is outside the data root/],
    ['write outDir escaping with ..', write(`${ROOT}/../../etc`), /outDir/],
    ['write outDir a sibling with the root as prefix', write(`${ROOT}-evil/x`), /outDir/],
    ['write outDir relative', write('staging/t0'), /outDir/],
    ['fsql allowDirs /', fsql({ allowDirs: ['/'] }), /allowDirs "\/"/],
    ['fsql a view file outside', fsql({ views: { t: ['/etc/passwd'] } }), /views\.t "\/etc\/passwd"/],
    ['fsql into outside', fsql({ into: '/tmp/x.parquet' }), /into "\/tmp\/x.parquet"/],
  ])('refuses %s with BAD_REQUEST', (_name, spec, message) => {
    expect(() => checkTaskPaths(spec, ROOT)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(message) }));
  });

  it('refuses write and fsql when no data root was announced', () => {
    expect(() => checkTaskPaths(write(`${ROOT}/staging/x`), undefined)).toThrow(/data root/);
  });
});
