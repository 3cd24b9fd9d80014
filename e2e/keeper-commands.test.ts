import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';

/*
 * The keeper loads only the command it runs (keeper/src/cli.ts): each command module is imported on
 * use, the full usage text (usage.ts) only for help or a wrong command. These check that every
 * command is still reached through that table, and that the code a command does not need (the
 * hosted queen and hive, the cluster code) is not loaded for it.
 */

/** Commands whose --help prints their usage and exits 0. */
const HELPFUL = ['sql', 'run', 'demo', 'write', 'frames', 'token', 'dashboard'];
/** Commands whose first word must be a subcommand: --help is a usage error naming the command. */
const SUBCOMMANDED = ['queen', 'cluster'];
/** Commands that need a running queen: exit 3 in an empty APIARY_HOME. */
const NEED_QUEEN = ['status', 'tasks'];

/**
 * A module-resolve hook (node:module register, run through NODE_OPTIONS=--import) that appends
 * every module URL the keeper resolves to the file named by APIARY_TEST_LOADED.
 */
const HOOK = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.APIARY_TEST_LOADED, r.url + '\\\\n');
  return r;
}\`));
`;

describe('keeper commands: each loaded on use', () => {
  let home: string;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    const left = pidsWithHome(home);
    rmSync(home, { recursive: true, force: true });
    expect(left, 'processes left behind').toEqual([]);
  });

  it('every command is reached: --help prints its usage, or its own error with its own exit code', async () => {
    for (const cmd of HELPFUL) {
      const r = await keeper([cmd, '--help'], home);
      expect(r.exitCode, `${cmd} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout.startsWith(`keeper ${cmd} `), `${cmd} --help printed: ${r.stdout}`).toBe(true);
    }
    for (const cmd of SUBCOMMANDED) {
      const r = await keeper([cmd, '--help'], home);
      expect(r.exitCode, `${cmd} --help: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`keeper ${cmd}: expected`);
    }
    for (const cmd of NEED_QUEEN) {
      const r = await keeper([cmd], home);
      expect(r.exitCode, `${cmd}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('no queen is running');
    }
  });

  it('keeper help lists every command; no command is a usage error; a wrong one (even an Object method name) is one', async () => {
    const help = await keeper(['help'], home);
    expect(help.exitCode).toBe(0);
    for (const cmd of [...HELPFUL, ...SUBCOMMANDED, ...NEED_QUEEN]) expect(help.stdout).toContain(`keeper ${cmd} `);
    const none = await keeper([], home);
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe(help.stdout);
    for (const wrong of ['bogus', 'toString', '__proto__', 'constructor']) {
      const r = await keeper([wrong], home);
      expect(r.exitCode, `keeper ${wrong}`).toBe(2);
      expect(r.stderr).toContain(`keeper: unknown command "${wrong}"`);
      expect(r.stderr).toContain('keeper run <module>');
    }
  });

  it('a command loads only its own code: status no queen or hive, run --cluster the cluster code (its file is read and checked)', async () => {
    const hook = path.join(home, 'hook.mjs');
    writeFileSync(hook, HOOK);
    const loaded = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
    const env = (file: string) => ({ NODE_OPTIONS: `--import ${hook}`, APIARY_TEST_LOADED: file });

    const statusLog = path.join(home, 'status.log');
    const status = await keeper(['status'], home, { env: env(statusLog) });
    expect(status.exitCode, status.stderr).toBe(3);
    const statusUrls = loaded(statusLog);
    // The hook saw the keeper's own chunks (else this test proves nothing)...
    expect(statusUrls.some((u) => u.includes('/services/keeper/dist/chunks/status-'))).toBe(true);
    // ...and none of the code for a one-shot colony, another command, the usage text or a cluster.
    for (const other of ['local-colony-', 'ephemeral-cluster-', 'chunks/cluster-', 'chunks/run-', 'chunks/usage-']) {
      expect(
        statusUrls.filter((u) => u.includes(other)),
        other,
      ).toEqual([]);
    }

    const clusterLog = path.join(home, 'cluster.log');
    const file = path.join(home, 'cluster.yaml');
    writeFileSync(file, 'cluster: c\nqueen: { address: 127.0.0.1, port: 1 }\nhosts:\n  - name: a\n    address: 127.0.0.1\n    bogus: 1\n');
    const run = await keeper(['run', '--cluster', file, 'task.mjs'], home, { env: env(clusterLog) });
    // The cluster file's own check ran (so its code was loaded), at the line of the bad key.
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${file}:6:5: hosts[0].bogus: unknown key`);
    const runUrls = loaded(clusterLog);
    expect(runUrls.some((u) => u.includes('/services/keeper/dist/chunks/ephemeral-cluster-'))).toBe(true);
    // The YAML parser came with it (the one-shot run below checks for its absence the same way).
    expect(runUrls.filter((u) => u.includes('/services/keeper/dist/')).some((u) => readFileSync(new URL(u), 'utf8').includes('YAMLParseError'))).toBe(true);
    expect(
      runUrls.filter((u) => u.includes('local-colony-')),
      'a --cluster run hosts no local colony',
    ).toEqual([]);
  });

  it('a one-shot keeper run hosts its colony without loading the cluster code or the YAML parser', async () => {
    const hook = path.join(home, 'hook.mjs');
    writeFileSync(hook, HOOK);
    const task = path.join(home, 'task.mjs');
    writeFileSync(task, 'export default () => 6 * 7;\n');
    const log = path.join(home, 'run.log');
    const r = await keeper(['run', task], home, { env: { NODE_OPTIONS: `--import ${hook}`, APIARY_TEST_LOADED: log } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('42');
    const keeperChunks = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter((u) => u.includes('/services/keeper/dist/'));
    expect(keeperChunks.some((u) => u.includes('/chunks/local-colony-'))).toBe(true);
    expect(keeperChunks.filter((u) => /\/chunks\/(ephemeral-)?cluster-/.test(u))).toEqual([]);
    // The yaml package lands in a hash-named chunk: found by a class name it keeps (keepNames).
    const withYaml = keeperChunks.filter((u) => readFileSync(new URL(u), 'utf8').includes('YAMLParseError'));
    expect(withYaml, 'chunks holding the yaml package').toEqual([]);
  });
});
