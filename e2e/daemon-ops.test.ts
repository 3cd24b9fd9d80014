import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPaths } from '@apiary/config';
import { QueenClient } from '@apiary/client';
import { KEEPER_BIN, TASKS, tempHome } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive, killAll, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';

const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });
const mode = (f: string) => statSync(f).mode & 0o777;
const cmdline = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // gone
  }
};

/** LocalHive.RESPAWN_DELAY_MS (services/queen/src/local-hive.ts): a dead local hive is restarted after this. */
const RESPAWN_DELAY_MS = 2000;
/** A hive's start on a loaded 2-core machine: node + DuckDB for 2 bees, then the join. */
const HIVE_START_ALLOWANCE_MS = 30_000;
/** Each test starts a daemon and waits for hives at least once: room for a loaded machine. */
const TEST_TIMEOUT_MS = 120_000;

describe('daemon operations', () => {
  let d: TestDaemon | null = null;
  let home: string | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
    if (home) {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
      home = null;
    }
  }, TEST_TIMEOUT_MS);

  it(
    'keeper queen start --detach writes pidfile, state, log and tokens (0600) under APIARY_HOME; keeper queen stop removes the pid/state files and every process',
    async () => {
      home = tempHome();
      const p = daemonPaths(home);
      // Port 0: the queen binds a free port and reports it (the keeper prints it, the state file holds it).
      const start = await keeper(['queen', 'start', '--detach', '--port', '0', '--bees', '1', '--memory-per-bee', '256MiB'], home);
      expect(start.exitCode, start.stderr).toBe(0);
      const pid = Number(/queen started: pid (\d+)/.exec(start.stdout)?.[1]);
      expect(start.stdout).toContain(p.logFile);
      for (const f of [p.pidFile, p.stateFile, p.logFile, p.clientTokenFile, p.joinTokenFile, p.hivePidFile]) {
        expect(existsSync(f), f).toBe(true);
        expect(mode(f).toString(8), f).toBe('600');
      }
      // The pidfile names the live queen: the process the keeper started, our bundle, our home.
      expect(Number(readFileSync(p.pidFile, 'utf8').trim())).toBe(pid);
      const state = JSON.parse(readFileSync(p.stateFile, 'utf8')) as { url: string; pid: number };
      expect(state.pid).toBe(pid);
      const port = Number(/ at http:\/\/127\.0\.0\.1:(\d+)/.exec(start.stdout)?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(state.url).toBe(`http://127.0.0.1:${port}`);
      expect(alive(pid)).toBe(true);
      expect(
        cmdline(pid).some((a) => /queen\.bundle\.mjs$|\/queen\.js$/.test(a)),
        cmdline(pid).join(' '),
      ).toBe(true);
      expect(pidsWithHome(home)).toContain(pid);
      // It really serves, with the token from its file, and its hive (pid in hive.pid) joins.
      const client = new QueenClient(state.url, readFileSync(p.clientTokenFile, 'utf8').trim());
      const c = await waitFor(
        async () => {
          const v = await client.colony();
          return v.hives.length === 1 && v.hives[0]!.bees.every((b) => b.state === 'idle') && v.hives[0]!.bees.length === 1 ? v : undefined;
        },
        HIVE_START_ALLOWANCE_MS,
        'the daemon hive to join',
      );
      expect(c.queen.pid).toBe(pid);
      expect(Number(readFileSync(p.hivePidFile, 'utf8').trim())).toBe(c.hives[0]!.resources.pid);
      const everything = pidsWithHome(home);
      expect(everything.length).toBeGreaterThanOrEqual(3); // queen, hive, bee
      const stop = await keeper(['queen', 'stop'], home);
      expect(stop.exitCode, stop.stderr).toBe(0);
      expect(stop.stdout).toContain(`queen stopped (pid ${pid})`);
      await waitGone(everything, 5000);
      expect(pidsWithHome(home)).toEqual([]);
      for (const f of [p.pidFile, p.stateFile, p.hivePidFile]) expect(existsSync(f), `${f} after stop`).toBe(false);
      // The log and the tokens outlive a stop: clients configured with the token keep working next time.
      for (const f of [p.logFile, p.clientTokenFile, p.joinTokenFile]) expect(existsSync(f), `${f} after stop`).toBe(true);
      expect((await keeper(['queen', 'status'], home)).exitCode).toBe(3);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "respawns the daemon's local hive after it is SIGKILLed: a new hive joins and runs tasks",
    async () => {
      d = await TestDaemon.start();
      await d.waitHives(1);
      const before = await d.client.colony();
      const oldHive = before.hives[0]!;
      const oldBees = oldHive.bees.map((b) => b.pid!);
      process.kill(oldHive.resources.pid, 'SIGKILL');
      await waitGone([oldHive.resources.pid, ...oldBees], 2000);
      const joined = await waitFor(
        async () => {
          const c = await d!.client.colony();
          const h = c.hives.find((x) => x.resources.pid !== oldHive.resources.pid);
          return h && h.bees.length === 2 && h.bees.every((b) => b.state === 'idle') && !c.hives.some((x) => x.resources.pid === oldHive.resources.pid)
            ? h
            : undefined;
        },
        RESPAWN_DELAY_MS + HIVE_START_ALLOWANCE_MS,
        'a respawned local hive',
      );
      expect(alive(joined.resources.pid)).toBe(true);
      expect(Number(readFileSync(daemonPaths(d.home).hivePidFile, 'utf8').trim())).toBe(joined.resources.pid);
      const t = await d.client.run(js('echo', { after: 'respawn' }), {});
      expect(t.state).toBe('succeeded');
      expect(t.attempts[0]!.hive).toBe(joined.id);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'respawns an ADOPTED local hive too: after a queen restart, SIGKILL the hive; a new one joins',
    async () => {
      d = await TestDaemon.start();
      await d.waitHives(1);
      const hivePid = (await d.client.colony()).hives[0]!.resources.pid;
      d.queen!.kill('SIGKILL');
      await waitGone([d.queen!.pid!], 2000);
      await d.startQueen();
      // The restarted queen adopts the running hive (hive.pid) rather than starting another.
      await waitFor(
        async () => (await d!.client.colony()).hives.some((h) => h.resources.pid === hivePid),
        HIVE_START_ALLOWANCE_MS,
        'the adopted hive to rejoin',
      );
      process.kill(hivePid, 'SIGKILL');
      await waitGone([hivePid], 2000);
      const joined = await waitFor(
        async () => {
          const h = (await d!.client.colony()).hives.find((x) => x.resources.pid !== hivePid);
          return h && h.bees.length === 2 && h.bees.every((b) => b.state === 'idle') ? h : undefined;
        },
        RESPAWN_DELAY_MS + HIVE_START_ALLOWANCE_MS,
        'a respawned local hive after adoption',
      );
      expect(Number(readFileSync(daemonPaths(d.home).hivePidFile, 'utf8').trim())).toBe(joined.resources.pid);
      const t = await d.client.run(js('echo', { after: 'adopted respawn' }), {});
      expect(t.state).toBe('succeeded');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'POST /v1/hives/:hive/shutdown stops that hive: its pids exit, it leaves the colony view; the other hive stays',
    async () => {
      d = await TestDaemon.start();
      const second = d.startHive('second');
      await d.waitHives(2);
      const c = await d.client.colony();
      const target = c.hives.find((h) => h.resources.name === 'second')!;
      const local = c.hives.find((h) => h.resources.name !== 'second')!;
      const pids = [target.resources.pid, ...target.bees.map((b) => b.pid!)];
      expect(target.resources.pid).toBe(second.pid);
      expect(await d.client.stopHive('second', 1000)).toBe(true);
      // grace 1 s with idle bees: a clean exit well inside grace + a loaded-machine margin.
      await waitGone(pids, 1000 + 5000);
      const exit = await new Promise<number | null>((r) => (second.exitCode !== null ? r(second.exitCode) : second.once('exit', (code) => r(code))));
      expect(exit).toBe(0);
      await waitFor(async () => !(await d!.client.colony()).hives.some((h) => h.id === target.id), 5000, 'the stopped hive to leave the colony view');
      const after = await d.client.colony();
      expect(after.hives.map((h) => h.id)).toEqual([local.id]);
      expect(alive(local.resources.pid)).toBe(true);
      expect(await d.client.stopHive('second')).toBe(false); // gone: 404 HIVE_NOT_FOUND
      const t = await d.client.run(js('echo', { still: 'serving' }), {});
      expect(t.state).toBe('succeeded');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeper status --watch on a real TTY draws the hive and its bees, redraws, and exits 130 on Ctrl-C with the cursor shown',
    async () => {
      d = await TestDaemon.start();
      await d.waitHives(1);
      const c = await d.client.colony();
      const hive = c.hives[0]!;
      // util-linux script(1) gives keeper a pseudo-terminal; -e returns its exit status (128+n for a signal).
      const cmd = `'${process.execPath}' '${KEEPER_BIN}' status --watch`;
      const term = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...d.env, TERM: 'xterm' } });
      let out = '';
      term.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => term.once('exit', (code) => r(code)));
      const CLEAR = '\x1b[H\x1b[2J';
      const frames = () => out.split(CLEAR).slice(1);
      try {
        // Two full redraws at the documented 1 s period (allowing start-up and a loaded machine).
        await waitFor(() => frames().filter((f) => f.includes('refreshing every 1s')).length >= 2, 15_000, 'two redraws');
        const frame = frames().find((f) => f.includes('refreshing every 1s'))!;
        expect(frame).toContain(`queen pid ${c.queen.pid} (daemon, serving)`);
        expect(frame).toContain('HIVE');
        expect(frame).toContain(hive.id);
        // One row per bee: hive id, bee id, state.
        for (const b of hive.bees) expect(frame).toMatch(new RegExp(`${hive.id}\\s+${b.id}\\s+(idle|busy)`));
        term.stdin!.write('\x03'); // Ctrl-C on the pty: the line discipline sends SIGINT to keeper
        const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
        expect(code).toBe(130);
        // Screen restored: any hidden cursor or alternate screen the view used is undone at exit.
        const lastHide = out.lastIndexOf('\x1b[?25l');
        expect(lastHide === -1 || out.lastIndexOf('\x1b[?25h') > lastHide, 'cursor left hidden').toBe(true);
        const lastAlt = out.lastIndexOf('\x1b[?1049h');
        expect(lastAlt === -1 || out.lastIndexOf('\x1b[?1049l') > lastAlt, 'alternate screen left on').toBe(true);
      } finally {
        if (term.exitCode === null && term.signalCode === null) term.kill('SIGKILL');
      }
      // keeper and script carried the daemon's APIARY_HOME: nothing of theirs is left.
      await waitFor(() => !pidsWithHome(d!.home).some((p) => cmdline(p).includes(KEEPER_BIN)), 5000, 'keeper gone');
    },
    TEST_TIMEOUT_MS,
  );
});
