import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASKS } from './helpers/colony.js';
import { cpuMs, keeper, roleOf, stderrOf } from './helpers/keeper.js';
import { alive, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { useTempHome } from './helpers/temp-dirs.js';
import { BEE_ORPHAN_POLL_MS, LOAD_MARGIN_MS } from './helpers/timing.js';

/** A query that keeps one bee busy for minutes (cancelled long before). */
const LONG_SQL = 'SELECT sum(hash(i)) FROM range(10000000000) t(i)';
/** CPU a bee must burn after taking the query to show it is computing (far above an idle bee's). */
const QUERY_CPU_PROOF_MS = 200;

/** Run keeper while recording every process of this APIARY_HOME that appears. */
async function watched(args: string[], home: string) {
  const seen = new Set<number>();
  const run = keeper(args, home);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (const p of pidsWithHome(home)) seen.add(p);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  const r = await run;
  done = true;
  await sampler;
  return { ...r, seen: [...seen] };
}

/** The parent pid of a process (field 4 of /proc/PID/stat, after the parenthesised command name). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String);
}

describe('keeper one-shot runs', () => {
  const home = useTempHome();

  it('keeper sql prints the result, then no queen, hive or bee, scratch dir or database file remains', async () => {
    const r = await watched(['sql', 'SELECT 42 AS answer, count(*) AS n FROM range(1000)', '--bees', '2'], home());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/answer\s*│\s*n/);
    expect(r.stdout).toMatch(/42\s*│\s*1000/);
    // queen + hive + at least one bee were seen while it ran
    expect(r.seen.length).toBeGreaterThanOrEqual(3);
    expect(r.seen.filter(alive)).toEqual([]);
    expect(filesUnder(home())).toEqual([]);
  });

  it('--format json prints a JSON array of row objects; --format csv prints CSV', async () => {
    const j = await keeper(['sql', "SELECT 1 AS a, 'x,y' AS b UNION ALL SELECT 2, NULL ORDER BY a", '--format', 'json'], home());
    expect(j.exitCode, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual([
      { a: 1, b: 'x,y' },
      { a: 2, b: null },
    ]);
    const c = await keeper(['sql', "SELECT 1 AS a, 'x,y' AS b UNION ALL SELECT 2, NULL ORDER BY a", '--format', 'csv'], home());
    expect(c.stdout).toBe('a,b\r\n1,"x,y"\r\n2,\r\n');
  });

  it('keeper run prints the resolved value of a js task as JSON', async () => {
    const rel = path.relative(process.cwd(), TASKS);
    const r = await keeper(['run', rel, '--export', 'echo', '--args', '{"hello":"bees","n":[1,2]}'], home());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ hello: 'bees', n: [1, 2] });
  });

  it('keeper demo generates data, runs queries over all bees and reports each bee', async () => {
    const r = await watched(['demo', '--rows', '200000', '--bees', '2'], home());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Orders and revenue by region/);
    expect(r.stdout).toMatch(/central\s*│/);
    expect(r.stdout).toMatch(/bee-0 .*(idle|busy)/);
    expect(r.stdout).toMatch(/bee-1 .*(idle|busy)/);
    const dir = /Parquet files under (\S+)/.exec(r.stdout)?.[1];
    expect(dir).toBeTruthy();
    expect(existsSync(dir!)).toBe(false);
    expect(r.seen.filter(alive)).toEqual([]);
  });

  describe('bad input: a clear error, a shell-usable exit code, nothing left behind', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['invalid SQL', ['sql', 'SELEC 1'], 1, /SQL_ERROR.*Parser Error/s],
      ['a missing table', ['sql', 'SELECT * FROM no_such_table'], 1, /SQL_ERROR.*no_such_table/s],
      ['an unknown module', ['run', './no/such/module.mjs'], 1, /TASK_MODULE_NOT_FOUND.*no\/such\/module\.mjs/s],
      ['an unknown export', ['run', TASKS, '--export', 'nope'], 1, /TASK_EXPORT_NOT_FOUND.*"nope".*it exports: .*echo/s],
      ['a task that throws', ['run', TASKS, '--export', 'fail', '--args', '{"message":"boom"}'], 1, /TASK_FAILED.*boom/s],
      ['an unknown flag', ['sql', 'SELECT 1', '--frobnicate'], 2, /USAGE.*frobnicate/s],
      ['a malformed size', ['sql', 'SELECT 1', '--memory-per-bee', 'lots'], 2, /"lots" is not a size/],
      ['a budget below the floor', ['sql', 'SELECT 1', '--memory-per-bee', '10MB'], 2, /below the floor of 192 MiB/],
      ['a malformed duration', ['sql', 'SELECT 1', '--timeout', 'soon'], 2, /"soon" is not a duration/],
      ['an unknown format', ['sql', 'SELECT 1', '--format', 'xml'], 2, /--format: "xml"/],
      ['malformed --args', ['run', TASKS, '--args', '{nope'], 2, /--args: not valid JSON/],
      ['an unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    ];
    for (const [what, args, code, message] of cases) {
      it(what, async () => {
        const r = await watched(args, home());
        expect(r.stderr).toMatch(message);
        expect(r.exitCode).toBe(code);
        expect(r.seen.filter(alive)).toEqual([]);
      });
    }
  });

  /**
   * Start a keeper whose query keeps its one bee busy, and return once the query is provably
   * running: the hive logged the bee taking a task (-v with debug logs relays it), and the bee
   * has since burned CPU (an idle bee burns none).
   */
  async function runningQuery(args: string[] = []) {
    const run = keeper(['sql', LONG_SQL, '--bees', '1', '-v', ...args], home(), { env: { APIARY_LOG_LEVEL: 'debug' } });
    const stderr = stderrOf(run);
    await waitFor(() => stderr.some((l) => /bee-0 idle → busy/.test(l)), 20_000, 'the bee to take the query');
    const bee = pidsWithHome(home()).find((p) => roleOf(p) === 'bee');
    expect(bee, 'a bee process').toBeDefined();
    const cpu0 = cpuMs(bee!);
    await waitFor(() => cpuMs(bee!) - cpu0 >= QUERY_CPU_PROOF_MS, 20_000, 'the bee to burn CPU on the query');
    return { run, stderr, bee: bee!, pids: pidsWithHome(home()) };
  }

  it('an ephemeral run is one keeper process hosting queen and hive, with its bees as its own children', async () => {
    const { run, pids, bee } = await runningQuery();
    try {
      // No queen or hive process: the keeper hosts both (local-colony.ts); bees stay sealed processes.
      expect(pids.map(roleOf).sort()).toEqual(['bee', 'keeper']);
      const keeperPid = pids.find((p) => roleOf(p) === 'keeper')!;
      expect(keeperPid).toBe(run.pid);
      // The bee's parent is the keeper itself: a hive process in between would be its parent instead.
      expect(parentOf(bee)).toBe(keeperPid);
    } finally {
      run.kill('SIGINT');
      await run;
      await waitGone(pids, LOAD_MARGIN_MS);
    }
  });

  it('Ctrl-C during a long query cancels it, shuts everything down and exits 130', async () => {
    const { run, pids } = await runningQuery();
    expect(pids.map(roleOf).sort()).toEqual(['bee', 'keeper']);
    run.kill('SIGINT');
    const r = await run;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/interrupted; cancelling/);
    // The keeper waits for its queen before it exits; what is left is at most an exit in progress.
    await waitGone(pids, LOAD_MARGIN_MS);
  });

  it('SIGTERM to the keeper: it cancels, takes down everything it started and exits 143', async () => {
    const { run, pids } = await runningQuery();
    run.kill('SIGTERM');
    const r = await run;
    expect(r.exitCode).toBe(143);
    expect(r.stderr).toMatch(/SIGTERM; cancelling/);
    await waitGone(pids, LOAD_MARGIN_MS);
  });

  it('a second Ctrl-C exits 130 at once while the first is still shutting down; the bees still go', async () => {
    const { run, pids, stderr } = await runningQuery();
    run.kill('SIGINT');
    await waitFor(() => stderr.some((l) => /interrupted; cancelling/.test(l)) || run.exitCode !== null, 10_000, 'the first Ctrl-C to start the shutdown');
    run.kill('SIGINT');
    const r = await run;
    expect(r.exitCode).toBe(130);
    // Whichever shutdown ended the keeper, its bees go: a forced exit leaves them to notice their
    // parent is gone (IPC disconnect at once, else the orphan watchdog's next poll).
    await waitGone(pids, BEE_ORPHAN_POLL_MS + LOAD_MARGIN_MS);
  });

  it('SIGKILL to the keeper mid-query: its bees notice and die, nothing is left', async () => {
    const { run, bee } = await runningQuery(['--bees', '2']);
    // Both bees: the busy one (its query runs on a DuckDB thread) and an idle one (started after it).
    const bees = () => pidsWithHome(home()).filter((p) => roleOf(p) === 'bee');
    await waitFor(() => bees().length === 2, 20_000, 'the second bee');
    expect(bees()).toContain(bee);
    const pids = pidsWithHome(home());
    expect(pids.map(roleOf).sort()).toEqual(['bee', 'bee', 'keeper']);
    run.kill('SIGKILL');
    await run;
    // Nobody is left to run a cascade: each bee sees its IPC channel close (or its watchdog sees
    // its ppid change within one poll) and kills its own process group.
    await waitGone(pids, BEE_ORPHAN_POLL_MS + LOAD_MARGIN_MS);
  });
});
