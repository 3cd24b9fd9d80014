import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome } from './helpers/procs.js';

/*
 * The keeper runs only the code of the command it runs (keeper/src/main.ts): each command module is
 * imported on use, the full usage text (usage.ts) only for help or a wrong command. The commands run
 * from keeper-main.cjs, one bundle compiled from V8's code cache, where an import on use is a module
 * initialised on use: these check, with V8's coverage of a real run (NODE_V8_COVERAGE), that every
 * command is still reached through that table and that the code a command does not need (the hosted
 * queen and hive, the cluster code, the YAML parser) is not run for it.
 */

/** Commands whose --help prints their usage and exits 0. */
const HELPFUL = ['sql', 'run', 'demo', 'write', 'frames', 'token', 'dashboard'];
/** Commands whose first word must be a subcommand: --help is a usage error naming the command. */
const SUBCOMMANDED = ['queen', 'cluster'];
/** Commands that need a running queen: exit 3 in an empty APIARY_HOME. */
const NEED_QUEEN = ['status', 'tasks'];

const MAIN_BUNDLE = fileURLToPath(new URL('../services/keeper/dist/keeper-main.cjs', import.meta.url));

/**
 * The sources (as keeper-main.cjs.map names them: ../src/…, ../../../node_modules/…) of every
 * function of keeper-main.cjs that ran at least once in the keeper whose coverage is in `dir`.
 */
function sourcesRun(dir: string): Set<string> {
  const code = readFileSync(MAIN_BUNDLE, 'utf8');
  const map = new SourceMap(JSON.parse(readFileSync(`${MAIN_BUNDLE}.map`, 'utf8')));
  const lineStarts = [0];
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const out = new Set<string>();
  for (const f of readdirSync(dir)) {
    const cov = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
      result: { url: string; functions: { ranges: { startOffset: number; count: number }[] }[] }[];
    };
    const script = cov.result.find((r) => r.url === pathToFileURL(MAIN_BUNDLE).href);
    for (const fn of script?.functions ?? []) {
      const r = fn.ranges[0]!;
      if (r.count === 0) continue;
      let line = lineStarts.length - 1;
      while (lineStarts[line]! > r.startOffset) line--;
      const e = map.findEntry(line, r.startOffset - lineStarts[line]!) as { originalSource?: string };
      if (e.originalSource) out.add(e.originalSource);
    }
  }
  return out;
}

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

  it('a command runs only its own code: status no queen or hive, run --cluster the cluster code (its file is read and checked)', async () => {
    const env = (dir: string) => ({ NODE_V8_COVERAGE: dir });
    const matching = (sources: Set<string>, re: RegExp) => [...sources].filter((s) => re.test(s));

    const statusCov = path.join(home, 'status-cov');
    const status = await keeper(['status'], home, { env: env(statusCov) });
    expect(status.exitCode, status.stderr).toBe(3);
    const statusRan = sourcesRun(statusCov);
    // The coverage saw the status command's code run, and names the queen's and hive's sources as the
    // check below expects (else this test proves nothing)...
    expect(matching(statusRan, /\/src\/commands\/status\.ts$/)).not.toEqual([]);
    const runCov = path.join(home, 'one-shot-cov');
    writeFileSync(path.join(home, 'task.mjs'), 'export default () => 1;\n');
    expect((await keeper(['run', path.join(home, 'task.mjs')], home, { env: env(runCov) })).exitCode).toBe(0);
    expect(matching(sourcesRun(runCov), /^\.\.\/\.\.\/queen\/src\/queen\.ts$/)).not.toEqual([]);
    // ...and none of the code for a one-shot colony, another command, the usage text or a cluster.
    expect(
      matching(
        statusRan,
        /\/src\/(local-colony|usage|commands\/(run|cluster)|cluster\/ephemeral-cluster)\.ts$|^\.\.\/\.\.\/(queen|hive)\/src\/|node_modules\/yaml\//,
      ),
    ).toEqual([]);

    const clusterCov = path.join(home, 'cluster-cov');
    const file = path.join(home, 'cluster.yaml');
    writeFileSync(file, 'cluster: c\nqueen: { address: 127.0.0.1, port: 1 }\nhosts:\n  - name: a\n    address: 127.0.0.1\n    bogus: 1\n');
    const run = await keeper(['run', '--cluster', file, 'task.mjs'], home, { env: env(clusterCov) });
    // The cluster file's own check ran (so its code was loaded), at the line of the bad key.
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${file}:6:5: hosts[0].bogus: unknown key`);
    const runRan = sourcesRun(clusterCov);
    expect(matching(runRan, /\/src\/cluster\/ephemeral-cluster\.ts$/)).not.toEqual([]);
    // The YAML parser came with it (the one-shot run below checks for its absence the same way).
    expect(matching(runRan, /node_modules\/yaml\//)).not.toEqual([]);
    expect(matching(runRan, /\/src\/local-colony\.ts$/), 'a --cluster run hosts no local colony').toEqual([]);
  });

  it('a one-shot keeper run hosts its colony without running the cluster code or the YAML parser', async () => {
    const task = path.join(home, 'task.mjs');
    writeFileSync(task, 'export default () => 6 * 7;\n');
    const cov = path.join(home, 'run-cov');
    const r = await keeper(['run', task], home, { env: { NODE_V8_COVERAGE: cov } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('42');
    const ran = [...sourcesRun(cov)];
    expect(ran.filter((s) => s.endsWith('/src/local-colony.ts'))).not.toEqual([]);
    expect(ran.filter((s) => /\/src\/(cluster|commands\/cluster)[/.]/.test(s))).toEqual([]);
    expect(
      ran.filter((s) => /node_modules\/yaml\//.test(s)),
      'the yaml package',
    ).toEqual([]);
  });
});
