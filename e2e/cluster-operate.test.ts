import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { TASKS } from './helpers/colony.js';
import { writeClusterFile } from './helpers/cluster-file.js';
import { CLUSTER_TEST_TIMEOUT_MS, useCluster } from './helpers/cluster-fixture.js';
import { describeFakePis, type FakePis } from './helpers/fakepi.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';
import { HIVE_LOSS_CHECK_MS, LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

/*
 * Operating one fake Pi: how many SSH round trips `cluster up` costs (counted in the host's own
 * sshd log), the story a healthy hive's log tells, and `keeper sql --cluster` beside the daemon
 * that already serves the cluster.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Built files of the install set: a rebuild by someone else in a shared checkout changes it for real. */
const BUILT = ['services/hive/dist/hive.bundle.mjs', 'services/bee/dist/bee.bundle.mjs', 'services/bee/dist/entry.js'];
const buildStamp = () =>
  BUILT.map((f) => {
    const s = statSync(path.join(REPO, f));
    return `${s.size}:${s.mtimeMs}`;
  }).join(' ');
const TEST_TIMEOUT_MS = CLUSTER_TEST_TIMEOUT_MS;
/** The round-trip test: a `down`, two full provisionings (from nothing, a replaced hive) and two cheap `up`s (unchanged, unrecorded). */
const FOUR_UPS_TIMEOUT_MS = 3 * TEST_TIMEOUT_MS;
/** A killed hive's socket closes at once; at worst the queen declares it lost after its silence timeout and next check. */
const HIVE_LOST_WITHIN_MS = QUEEN_DEFAULTS.hiveTimeoutMs + HIVE_LOSS_CHECK_MS + LOAD_MARGIN_MS;

describeFakePis('operating a cluster: round trips, a healthy hive log, sql --cluster beside its daemon', () => {
  const c = useCluster({ hosts: 1, homePrefix: 'apiary-clop-', what: 'the cluster operation tests' });
  const { run, queenJson, client, hostPids, ensureDown } = c;
  let pis: FakePis;
  let home: string;
  let file: string;
  beforeAll(() => ({ pis, home, file } = c));
  const pi1Up = async () =>
    pidsWithHome(home).length > 0 &&
    (await client()
      .colony()
      .then((c) => c.hives.some((h) => h.resources.name === 'pi1' && h.bees.length > 0 && h.bees.every((b) => b.state === 'idle')))
      .catch(() => false));

  /** What pi1's sshd logged since `since` (a byte offset): connections used, commands and subsystems started. */
  const sshdLog = () => readFileSync(pis.host(1).sshdLog, 'utf8');
  const sessions = (since: number) => {
    const text = sshdLog().slice(since);
    // Each connection comes from its own client port; each command is one session on it.
    const ports = [...text.matchAll(/^Starting session: \S+ .* port (\d+) /gm)].map((m) => m[1]);
    return {
      connections: new Set(ports).size,
      commands: (text.match(/^Starting session: command /gm) ?? []).length,
      subsystems: (text.match(/^Starting session: subsystem /gm) ?? []).length,
    };
  };

  async function ensureUp(): Promise<void> {
    if (await pi1Up()) return;
    const r = await run(['cluster', 'up', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }

  /** A cluster file like `file` whose queen.port is the running daemon's (not 0). */
  function fileOnDaemonPort(): { file: string; port: number } {
    const port = Number(new URL(queenJson().url).port);
    const dir = path.join(home, 'fixed-port');
    mkdirSync(dir, { recursive: true });
    return { file: writeClusterFile(dir, pis, { port }), port };
  }

  it(
    'cluster up from nothing: one SSH connection and two commands on the host; with nothing changed: no SSH at all, unless the host is not as we left it',
    async () => {
      await ensureDown();
      rmSync(pis.host(1).installDir, { recursive: true, force: true });
      for (let attempt = 1; ; attempt++) {
        const build = buildStamp();
        const before = sshdLog().length;
        const first = await run(['cluster', 'up', file]);
        expect(first.exitCode, first.stdout + first.stderr).toBe(0);
        const fresh = sessions(before);
        const mid = sshdLog().length;
        const again = await run(['cluster', 'up', file]);
        expect(again.exitCode, again.stdout + again.stderr).toBe(0);
        const unchanged = sessions(mid);
        // Not recorded here (another APIARY_HOME's keeper, say): the host itself is asked.
        rmSync(path.join(home, 'clusters', 'fakepis.hosts.json'));
        const late = sshdLog().length;
        const unrecorded = await run(['cluster', 'up', file]);
        expect(unrecorded.exitCode, unrecorded.stdout + unrecorded.stderr).toBe(0);
        const asked = sessions(late);
        if (buildStamp() !== build && attempt < 3) continue; // rebuilt meanwhile: the later ups had real work
        // preflight (one script), then stop + unpack + start (one script, the archive on its stdin); no SFTP
        expect(fresh).toEqual({ connections: 1, commands: 2, subsystems: 0 });
        expect(first.stdout).toMatch(/pi1: upload ✓ \d+ file\(s\) changed/);
        // nothing changed: the queen has the hive we left there, and what we would send hashes as then
        expect(unchanged).toEqual({ connections: 0, commands: 0, subsystems: 0 });
        const pid = Number(/pi1: start ✓ started, pid (\d+)/.exec(first.stdout)?.[1]);
        expect(again.stdout).toContain(`pi1: join ✓ unchanged since the last up: hive pid ${pid} joined (no SSH needed)`);
        // preflight alone tells the recorded hashes and the running hive, which is left alone
        expect(asked).toEqual({ connections: 1, commands: 1, subsystems: 0 });
        expect(unrecorded.stdout).toMatch(/pi1: upload ✓ nothing changed/);
        expect(unrecorded.stdout).toContain(`pi1: start ✓ already running, pid ${pid}`);
        break;
      }
      // A hive that is not the one we left (gone, restarted by someone else): the full path, a new hive.
      const old = (await client().colony()).hives.find((h) => h.resources.name === 'pi1')!.resources.pid;
      process.kill(old, 'SIGKILL'); // the fake Pi shares this machine's pid space
      await waitFor(
        async () => !(await client().colony()).hives.some((h) => h.resources.pid === old),
        HIVE_LOST_WITHIN_MS,
        'the queen to drop the killed hive',
      );
      const before = sshdLog().length;
      const replaced = await run(['cluster', 'up', file]);
      expect(replaced.exitCode, replaced.stdout + replaced.stderr).toBe(0);
      expect(sessions(before)).toEqual({ connections: 1, commands: 2, subsystems: 0 });
      expect(replaced.stdout).toMatch(/pi1: start ✓ started, pid \d+/);
    },
    // each full provisioning is what TEST_TIMEOUT_MS allows for elsewhere
    FOUR_UPS_TIMEOUT_MS,
  );

  it(
    "a healthy hive's log, through keeper cluster logs, tells its story: start, join, bee ready, a reconnect, a bee killed at its timeout",
    async () => {
      await ensureUp();
      const { url } = queenJson();
      const port = new URL(url).port;
      // A reconnect: the daemon goes and comes back on the same port; the hive keeps running and rejoins.
      expect((await run(['queen', 'stop', '--keep-hives'])).exitCode).toBe(0);
      const restart = await run(['queen', 'start', '--detach', '--host', '0.0.0.0', '--port', port, '--no-local-hive']);
      expect(restart.exitCode, restart.stdout + restart.stderr).toBe(0);
      await waitFor(pi1Up, 60_000, 'pi1 rejoined the restarted queen');
      // A killed bee: a busy loop (it cannot honour its abort signal) past its timeout, which the
      // hive enforces itself: the bee is killed after the abort grace, and a new one starts.
      const q = client();
      await q.submit({ kind: 'js', module: TASKS, export: 'spin', args: { ms: 120_000 } }, { timeoutMs: 500, maxAttempts: 1 });
      // wss: the cluster's queen listens beyond loopback, so it serves TLS.
      const hiveWs = new RegExp(`wss?://${pis.host(1).hostSideAddress.replace(/\./g, '\\.')}:${port}/v1/hive`);
      /** Index of the last line with `what` (and every pattern), -1 if none. */
      const last = (lines: string[], what: string, ...also: RegExp[]) => lines.findLastIndex((l) => l.includes(what) && also.every((re) => re.test(l)));
      // The log as `cluster logs` shows it, once it holds the kill and the replacement bee after it
      // (the bee is killed after its abort grace, then a new one starts: seconds).
      let text = '';
      const lines = await waitFor(
        async () => {
          const r = await run(['cluster', 'logs', file, 'pi1', '--lines', '1000']);
          expect(r.exitCode, r.stderr).toBe(0);
          text = r.stdout;
          const l = text.split('\n');
          const killing = last(l, 'killing bee 0', /TASK_TIMEOUT/);
          return killing >= 0 && last(l, 'bee 0 ready') > killing ? l : false;
        },
        60_000,
        "the kill and the replacement bee in pi1's log",
      ).catch((e: Error) => {
        throw new Error(`${e.message}; the log:\n${text}`);
      });
      // The log holds every hive this file's tests started on pi1: the story is the last one's.
      const started = last(lines, 'hive starting', /pi1/);
      const story = {
        started,
        joined: lines.findIndex((l, i) => i > started && l.includes('joined the queen') && !l.includes('rejoined') && hiveWs.test(l)),
        beeReady: last(lines, 'bee 0 ready', /beePid/),
        closed: last(lines, 'queen connection closed', /reconnecting/),
        rejoined: last(lines, 'rejoined the queen', hiveWs),
        killing: last(lines, 'killing bee 0', /TASK_TIMEOUT/),
        exited: last(lines, 'bee 0 exited', /TASK_TIMEOUT/),
      };
      const why = `story ${JSON.stringify(story)} in:\n${text}`;
      for (const [k, i] of Object.entries(story)) expect(i, `${k}: ${why}`).toBeGreaterThanOrEqual(0);
      expect(story.joined, why).toBeGreaterThan(story.started);
      expect(story.rejoined, why).toBeGreaterThan(story.closed);
      expect(story.closed, why).toBeGreaterThan(story.joined);
      expect(story.killing, why).toBeGreaterThan(story.rejoined);
      expect(story.exited, why).toBeGreaterThan(story.killing);
      expect(story.beeReady, why).toBeGreaterThan(story.exited); // its replacement
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeper sql --cluster, while a daemon from cluster up serves the cluster on its queen.port, runs there and says so',
    async () => {
      await ensureUp();
      const daemon = queenJson().pid;
      const onHost = hostPids().sort();
      const fixed = fileOnDaemonPort();
      const r = await run(['sql', '--cluster', fixed.file, 'SELECT 42 AS answer', '--format', 'json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([{ answer: 42 }]);
      expect(r.stderr).toMatch(/cluster fakepis is already served by the queen at https?:\/\/\S+ \(its hives: pi1\): running there/);
      expect(r.stderr).toMatch(/plain `keeper sql` \(without --cluster\)/);
      expect(r.stderr).not.toMatch(/EADDRINUSE|QUEEN_START_FAILED/);
      // No queen and no hive of its own: the daemon and the host's hive are the ones that were there.
      expect(pidsWithHome(home)).toContain(daemon);
      expect(hostPids().sort()).toEqual(onHost);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeper sql --cluster when our daemon holds queen.port but serves none of its hosts: QUEEN_START_FAILED naming the daemon and what to run',
    async () => {
      await ensureUp();
      const fixed = fileOnDaemonPort();
      const down = await run(['cluster', 'down', file]); // the hive goes; the daemon stays on the port
      expect(down.exitCode, down.stdout + down.stderr).toBe(0);
      const { pid } = queenJson();
      const r = await run(['sql', '--cluster', fixed.file, 'SELECT 1']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `QUEEN_START_FAILED.*port ${fixed.port} .*held by the queen daemon at https?://\\S+ \\(pid ${pid}\\).*keeper cluster up .*plain \`keeper sql\``,
        ),
      );
      // Its ephemeral queen is gone again; nothing was started on the host.
      expect(pidsWithHome(home)).toEqual([pid]);
      expect(hostPids()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
