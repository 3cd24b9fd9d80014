import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKS, tempHome } from './helpers/colony.js';
import { HIVE_BIN } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { killAll, pidsWithHome, waitFor, waitGone } from './helpers/procs.js';
import { QueenClient } from '@apiary/client';
import { helloFrame } from './helpers/hello.js';

/*
 * Tokens travel by env or 0600 files, never argv (world-readable in /proc), and never reach a log.
 * Only the hive takes --token-file; the queen reads APIARY_{CLIENT,JOIN}_TOKEN or its 0600 files
 * under APIARY_HOME/tokens, and the keeper APIARY_TOKEN, config.json or that client.token.
 */

/** Every process is started with debug logs: the most a log could ever say. */
const DEBUG = { APIARY_LOG_LEVEL: 'debug' };

/** The environment without any token a developer's shell might carry. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { APIARY_JOIN_TOKEN: _j, APIARY_CLIENT_TOKEN: _c, APIARY_TOKEN: _t, APIARY_QUEEN: _q, ...rest } = process.env;
  return { ...rest, ...extra };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function environ(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

describe('secrets: token files, argv and logs', () => {
  let home = '';
  let tmp = '';
  let logs = '';
  const outputs: string[] = []; // every keeper stdout and stderr of this run
  let client: QueenClient;
  let tokens: { client: string; join: string };
  let wsUrl = '';
  const hives: ChildProcess[] = [];

  const k = async (args: string[], env: Record<string, string> = {}) => {
    const r = await keeper(args, home, { env: { ...DEBUG, ...env } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  /** A separate hive (as on another machine) with --token-file, its stderr to logs/<name>.log. */
  const startHive = (name: string, tokenFile: string): ChildProcess => {
    const fd = openSync(path.join(logs, `${name}.log`), 'a');
    const h = spawn(
      process.execPath,
      [
        HIVE_BIN,
        '--queen',
        wsUrl,
        '--name',
        name,
        '--bees',
        '1',
        '--memory-per-bee',
        '256MiB',
        '--cache-dir',
        path.join(home, `cache-${name}`),
        '--token-file',
        tokenFile,
      ],
      {
        detached: true,
        stdio: ['ignore', 'ignore', fd],
        env: cleanEnv({ APIARY_HOME: home, ...DEBUG }),
      },
    );
    closeSync(fd);
    hives.push(h);
    return h;
  };

  /** A hive that must refuse to run: its exit code and stderr. */
  const failingHive = async (tokenFile: string) => {
    const r = await execa(
      process.execPath,
      [
        HIVE_BIN,
        '--queen',
        wsUrl,
        '--name',
        'refused',
        '--bees',
        '1',
        '--memory-per-bee',
        '256MiB',
        '--cache-dir',
        path.join(home, 'cache-refused'),
        '--token-file',
        tokenFile,
      ],
      {
        reject: false,
        stdin: 'ignore',
        timeout: 30_000,
        env: cleanEnv({ APIARY_HOME: home, ...DEBUG }),
        extendEnv: false,
      },
    );
    writeFileSync(path.join(logs, `refused-${path.basename(tokenFile)}.log`), r.stderr);
    return r;
  };

  beforeAll(async () => {
    home = tempHome();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-secrets-'));
    logs = path.join(tmp, 'logs');
    mkdirSync(logs);
    const r = await k(['queen', 'start', '--detach', '--port', '0', '--bees', '2', '--memory-per-bee', '256MiB']);
    expect(r.exitCode, r.stderr).toBe(0);
    tokens = {
      client: readFileSync(path.join(home, 'tokens/client.token'), 'utf8').trim(),
      join: readFileSync(path.join(home, 'tokens/join.token'), 'utf8').trim(),
    };
    const state = JSON.parse(readFileSync(path.join(home, 'queen.json'), 'utf8')) as { url: string };
    client = new QueenClient(state.url, tokens.client);
    wsUrl = `${state.url.replace(/^http/, 'ws')}/v1/hive`;
    await waitFor(async () => (await client.colony()).hives.length >= 1, 20_000, 'the local hive');
    // A separate hive that takes its join token from a 0600 file, as `keeper cluster up` starts them.
    const file = path.join(tmp, 'join.token');
    writeFileSync(file, tokens.join + '\n', { mode: 0o600 });
    startHive('filed', file);
  }, 60_000);

  afterAll(async () => {
    if (!home) return;
    const pids = pidsWithHome(home);
    try {
      await keeper(['queen', 'stop'], home);
      for (const h of hives) if (h.exitCode === null && h.signalCode === null) h.kill('SIGTERM');
      await waitGone(pids, 20_000);
    } finally {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** The --token-file hive of beforeAll has joined with its bees up. */
  const filedHiveUp = () =>
    waitFor(
      async () => (await client.colony()).hives.some((h) => h.resources.name === 'filed' && h.bees.some((b) => b.state === 'idle' || b.state === 'busy')),
      20_000,
      'the hive joined with --token-file',
    );

  it('--token-file (hive): a 0600 file with the join token joins', async () => {
    await filedHiveUp();
    expect(cmdline(hives[0]!.pid!)).toContain('--token-file');
  });

  it('--token-file: a wrong, missing, empty or world-readable file is refused with a clear error', async () => {
    const wrong = path.join(tmp, 'wrong.token');
    writeFileSync(wrong, 'w'.repeat(32), { mode: 0o600 });
    const r1 = await failingHive(wrong);
    expect(r1.exitCode, r1.stderr).toBe(1);
    expect(r1.stderr).toMatch(/the queen rejected the join token/);

    const missing = path.join(tmp, 'missing.token');
    const r2 = await failingHive(missing);
    expect(r2.exitCode, r2.stderr).toBe(2);
    expect(r2.stderr).toContain(`CONFIG_INVALID: --token-file ${missing}: ENOENT`);

    const empty = path.join(tmp, 'empty.token');
    writeFileSync(empty, '\n', { mode: 0o600 });
    const r3 = await failingHive(empty);
    expect(r3.exitCode, r3.stderr).toBe(2);
    expect(r3.stderr).toContain(`CONFIG_INVALID: ${empty} holds no usable token`);

    const open = path.join(tmp, 'open.token');
    writeFileSync(open, tokens.join + '\n');
    chmodSync(open, 0o644); // the right token, but anyone could read it
    const r4 = await failingHive(open);
    expect(r4.exitCode, r4.stderr).toBe(2);
    expect(r4.stderr).toContain(`CONFIG_INVALID: ${open} is readable by others (mode 644): run chmod 600 ${open}`);

    expect((await client.colony()).hives.map((h) => h.resources.name)).not.toContain('refused');
  }, 120_000);

  it('the keeper refuses a world-readable client.token and a wrong APIARY_TOKEN', async () => {
    const file = path.join(home, 'tokens/client.token');
    chmodSync(file, 0o644);
    try {
      const r = await k(['status']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/CONFIG_INVALID: .*client\.token is readable by others/);
    } finally {
      chmodSync(file, 0o600);
    }
    const wrong = await k(['sql', 'SELECT 1'], { APIARY_TOKEN: 'z'.repeat(32) });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/AUTH_FAILED: wrong bearer token/);
  });

  it('no token in the argv of any process of the daemon, its hives and bees, nor in a bee environment', async () => {
    await filedHiveUp();
    // Work in flight, so every bee is alive and busy while we look.
    const running = client.run({ kind: 'js', module: TASKS, export: 'sleep', args: { ms: 3000 } }, {});
    const running2 = client.run({ kind: 'js', module: TASKS, export: 'sleep', args: { ms: 3000 } }, {});
    const colony = await waitFor(
      async () => {
        const c = await client.colony();
        return c.hives.flatMap((h) => h.bees).filter((b) => b.state === 'busy').length >= 2 && c;
      },
      20_000,
      'busy bees',
    );
    const pids = pidsWithHome(home);
    const beePids = colony.hives.flatMap((h) => h.bees.map((b) => b.pid)).filter((p): p is number => p !== null);
    // queen + local hive + the --token-file hive + 3 bees, all seen.
    expect(pids).toContain(colony.queen.pid);
    for (const h of colony.hives) expect(pids).toContain(h.resources.pid);
    for (const b of beePids) expect(pids).toContain(b);
    expect(beePids.length).toBeGreaterThanOrEqual(3);
    for (const pid of pids) {
      const argv = cmdline(pid);
      expect(argv, `argv of ${pid}`).not.toContain(tokens.client);
      expect(argv, `argv of ${pid}`).not.toContain(tokens.join);
    }
    // Task code runs in the bees: their environment holds no token either.
    for (const b of beePids) {
      expect(environ(b)).not.toContain(tokens.join);
      expect(environ(b)).not.toContain(tokens.client);
    }
    expect((await running).state).toBe('succeeded');
    expect((await running2).state).toBe('succeeded');
  });

  it('an ephemeral colony (no daemon, no cluster) hands its tokens to no process: not in any argv or environment', async () => {
    const eph = tempHome();
    try {
      // The keeper hosts queen and hive (local-colony.ts): the tokens it makes live in its memory only.
      // Each process of the colony (the keeper and its bee) must show them in neither argv nor env.
      const run = keeper(['run', TASKS, '--export', 'sleep', '--args', '{"ms":4000}', '--bees', '1', '-v'], eph, { env: DEBUG });
      const pids = await waitFor(
        () => {
          const now = pidsWithHome(eph);
          // keeper and a bee
          return now.length >= 2 && now;
        },
        20_000,
        'the ephemeral colony',
      );
      for (const pid of pids) {
        expect(environ(pid), `environment of ${pid}`).not.toMatch(/APIARY_(CLIENT|JOIN)_TOKEN=/);
        expect(cmdline(pid), `argv of ${pid}`).not.toMatch(/token/i);
      }
      const r = await run;
      expect(r.exitCode, r.stderr).toBe(0);
      // Its debug log (-v) shows the hive joining, but never a bearer or join token value.
      expect(r.stderr).toMatch(/joined the queen/);
      expect(r.stderr).not.toMatch(/"token":|Bearer /);
      await waitGone(pids, 15_000);
    } finally {
      killAll(pidsWithHome(eph));
      rmSync(eph, { recursive: true, force: true });
    }
  });

  it('after all that (auth failures included), no token in queen.log, the hive logs or any keeper output', async () => {
    await filedHiveUp();
    // Failures of its own (so this test stands alone): a hive that offers the client token as its
    // join token, a request that offers the join token as a bearer, a keeper with a wrong token.
    const ws = new WebSocket(wsUrl);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify(helloFrame(tokens.client, 'mixup')));
    expect(await new Promise((r) => ws.once('close', (c) => r(c)))).toBe(4401);
    const bad = await fetch(`${client.url}/v1/colony`, { headers: { authorization: `Bearer ${tokens.join}` } });
    expect(bad.status).toBe(401);
    expect((await k(['status'], { APIARY_TOKEN: tokens.join })).exitCode).toBe(1);
    const stop = await k(['queen', 'stop']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    for (const h of hives) if (h.exitCode === null && h.signalCode === null) h.kill('SIGTERM');
    await waitFor(() => pidsWithHome(home).length === 0 && true, 20_000, 'every process of the daemon to exit');
    const queenLog = readFileSync(path.join(home, 'logs/queen.log'), 'utf8');
    // The logs are real: they recorded the refused hive (at warn) and the daemon's work (at debug).
    expect(queenLog).toMatch(/\(mixup\): wrong join token; refused/);
    expect(queenLog).toMatch(/"level":"debug"/); // the daemon's log is JSON lines
    const texts: [string, string][] = [
      ['queen.log', queenLog],
      ...readdirSync(logs).map((f): [string, string] => [f, readFileSync(path.join(logs, f), 'utf8')]),
      ['keeper output', outputs.join('\n')],
    ];
    expect(texts.find(([n]) => n === 'filed.log')?.[1]).toMatch(/debug|info/);
    for (const [name, text] of texts) {
      expect(text, name).not.toContain(tokens.client);
      expect(text, name).not.toContain(tokens.join);
    }
  });
});
