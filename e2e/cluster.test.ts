import { appendFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { TASKS } from './helpers/colony.js';
import { CLUSTER_TEST_TIMEOUT_MS, useCluster } from './helpers/cluster-fixture.js';
import { describeFakePis, type FakePis } from './helpers/fakepi.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';
import { HIVE_LOSS_CHECK_MS, LOAD_MARGIN_MS, QUEEN_DEFAULTS } from './helpers/timing.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });
const HOSTS = ['pi1', 'pi2', 'pi3'];
const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The built files of the install set (local path, path under a host's install dir). */
const BUILT = [
  ['services/hive/dist/hive.bundle.mjs', 'hive.mjs'],
  ['services/bee/dist/entry.js', 'node_modules/@apiary/bee/dist/entry.js'],
  ['services/bee/dist/bee.bundle.mjs', 'node_modules/@apiary/bee/dist/bee.bundle.mjs'],
] as const;
/** Size and mtime in whole seconds: what `cluster up` compares to skip a file. */
function stamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.size}:${Math.floor(s.mtimeMs / 1000)}`;
  } catch {
    return 'missing';
  }
}
const buildStamp = () => BUILT.map(([local]) => stamp(path.join(REPO, local))).join(' ');
const TEST_TIMEOUT_MS = CLUSTER_TEST_TIMEOUT_MS;

/*
 * A cut link closes no socket: the queen hears nothing more from the hive. Its last frame came at
 * the latest when the link went down, it is declared lost once silent for hiveTimeoutMs, at the
 * first loss check after that, and the test sees it at its next colony poll. The daemon `cluster up`
 * starts runs with the queen's defaults.
 */
const HIVE_LOST_WITHIN_MS = QUEEN_DEFAULTS.hiveTimeoutMs + HIVE_LOSS_CHECK_MS + LOAD_MARGIN_MS;

describeFakePis('SSH cluster on 3 fake Pis (network namespaces, real sshd)', () => {
  const c = useCluster({ hosts: 3, homePrefix: 'apiary-cluster-', what: 'the SSH cluster tests' });
  const { run, hostPids, queenJson, client, ensureUp, ensureDown } = c;
  let pis: FakePis;
  let home: string;
  let file: string;
  beforeAll(() => ({ pis, home, file } = c));
  /** The fake Pis share this filesystem: each host's install dir holds what `up` last uploaded. */
  const hostsHoldThisBuild = () =>
    pis.hosts.every((h) => BUILT.every(([local, remote]) => stamp(path.join(REPO, local)) === stamp(path.join(h.installDir, remote))));

  it(
    'cluster up starts a queen on a free port and a hive on every host; tasks land on all 3',
    async () => {
      await ensureDown();
      const r = await run(['cluster', 'up', file]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/3\/3 host\(s\) up/);
      // queen.port 0: the daemon bound a port of its own, and the hives were told that one.
      const port = Number(new URL(queenJson().url).port);
      expect(port).toBeGreaterThan(0);
      expect(r.stdout).toContain(`listening on ${queenJson().url}`);
      const q = client();
      const { ids } = await q.submitBatch(Array.from({ length: 12 }, (_, i) => ({ spec: js('stamp', { ms: 300, label: i }) })));
      const { tasks } = await q.waitMany(ids, 30_000);
      expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
      const hives = new Set(tasks.map((t) => t.attempts.at(-1)!.hive.split('#')[0]));
      expect(hives).toEqual(new Set(HOSTS));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'cluster up again, against the running daemon, changes nothing on hosts that are up',
    async () => {
      await ensureUp();
      // "Nothing changed" needs hosts that hold this build, and no rebuild while we check: in a
      // shared checkout someone else's `npm run build` changes the install set for real.
      for (let attempt = 1; ; attempt++) {
        if (!hostsHoldThisBuild()) {
          const sync = await run(['cluster', 'up', file]);
          expect(sync.exitCode, sync.stdout + sync.stderr).toBe(0);
        }
        const build = buildStamp();
        const before = (await client().colony()).hives.map((h) => h.resources.pid).sort();
        // queen.port is still 0: the hives must be told the running daemon's port, or their config
        // would change and they would be restarted.
        const r = await run(['cluster', 'up', file]);
        if (buildStamp() !== build && attempt < 3) continue; // rebuilt meanwhile: check again
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/3\/3 host\(s\) up/);
        expect(r.stdout).not.toMatch(/[1-9]\d* file\(s\) changed/);
        expect(r.stdout).not.toMatch(/started a queen/);
        const after = (await client().colony()).hives.map((h) => h.resources.pid).sort();
        expect(after).toEqual(before);
        return;
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'cluster status and exec report per host',
    async () => {
      await ensureUp();
      const s = await run(['cluster', 'status', file]);
      expect(s.exitCode, s.stderr).toBe(0);
      for (const h of HOSTS) expect(s.stdout).toMatch(new RegExp(`${h}\\s+\\S+\\s+yes\\s+ready`));
      const e = await run(['cluster', 'exec', file, '--', 'echo', 'hello from $(hostname -I)']);
      expect(e.exitCode, e.stderr).toBe(0);
      expect(e.stdout).toContain(`pi2| hello from ${pis.host(2).address}`);
      expect(e.stdout).toMatch(/pi3: exit 0/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    `a cut link: HIVE_LOST within ${HIVE_LOST_WITHIN_MS} ms, its tasks finish on the other hosts; healed, the hive reconnects`,
    async () => {
      await ensureUp();
      const q = client();
      const { ids } = await q.submitBatch(Array.from({ length: 18 }, (_, i) => ({ spec: js('stamp', { ms: 400, label: i }) })));
      await waitFor(async () => (await q.colony()).hives.find((h) => h.resources.name === 'pi2')?.inFlight, 10_000, 'work on pi2');
      await pis.cut(2);
      try {
        const t0 = Date.now(); // the link is down: nothing from pi2 after this
        await waitFor(async () => !(await q.colony()).hives.some((h) => h.resources.name === 'pi2'), HIVE_LOST_WITHIN_MS + 10_000, 'pi2 lost');
        const lostAfterMs = Date.now() - t0;
        expect(lostAfterMs, `HIVE_LOST ${lostAfterMs} ms after the cut`).toBeLessThanOrEqual(HIVE_LOST_WITHIN_MS);
        const { tasks } = await q.waitMany(ids, 30_000);
        expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
        expect(tasks.some((t) => t.attempts.some((a) => a.error?.code === 'HIVE_LOST'))).toBe(true);
      } finally {
        await pis.heal(2); // whatever happened above: the next test gets a whole network
      }
      await waitFor(async () => (await q.colony()).hives.some((h) => h.resources.name === 'pi2'), 30_000, 'pi2 back');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "cluster logs shows a host's hive log, and --follow streams it until Ctrl-C",
    async () => {
      await ensureUp();
      // The fake Pi shares this filesystem: lines appended to pi2's hive.log here are what the host's
      // log holds (a healthy hive may have logged nothing yet).
      const log = path.join(pis.host(2).home, 'hive.log');
      const before = `before-${process.pid}-${Date.now()}`;
      appendFileSync(log, `${before}\n`);
      const r = await run(['cluster', 'logs', file, 'pi2', '--lines', '50']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain(before);
      const f = run(['cluster', 'logs', file, 'pi2', '--follow']);
      try {
        let seen = '';
        f.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
        await waitFor(() => seen.includes(before), 30_000, 'the log so far');
        const during = `during-${process.pid}-${Date.now()}`;
        appendFileSync(log, `${during}\n`);
        await waitFor(() => seen.includes(during), 30_000, 'a line appended while following');
      } finally {
        f.kill('SIGINT');
      }
      expect((await f).exitCode).toBe(130);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'cluster down stops every hive and leaves no process of ours on any host',
    async () => {
      await ensureUp();
      expect(hostPids().length).toBeGreaterThanOrEqual(6);
      const r = await run(['cluster', 'down', file]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.match(/no process of ours remains/g)).toHaveLength(3);
      expect(r.stdout.match(/via queen/g)).toHaveLength(3);
      expect(hostPids()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'cluster down falls back to the pidfile over SSH for hives not connected to a queen',
    async () => {
      await ensureUp();
      // The queen goes away but leaves the cluster's hives running (they keep reconnecting).
      const stop = await run(['queen', 'stop', '--keep-hives']);
      expect(stop.exitCode, stop.stderr).toBe(0);
      expect(hostPids().length).toBeGreaterThanOrEqual(6);
      const r = await run(['cluster', 'down', file]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.match(/stopped \(via ssh\); no process of ours remains/g)).toHaveLength(3);
      expect(hostPids()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'an ephemeral keeper sql --cluster run starts hives over SSH, answers, and leaves nothing on any host',
    async () => {
      await ensureDown();
      // queen.port 0: the ephemeral queen binds a free port and the attached hives dial it.
      const r = await run(['sql', '--cluster', file, 'SELECT 42 AS answer', '--format', 'json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([{ answer: 42 }]);
      expect(r.stderr).toMatch(/pi3: join ✓/);
      expect(hostPids()).toEqual([]);
      expect(pidsWithHome(home)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
