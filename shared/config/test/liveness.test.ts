import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPaths, pidAlive, processStartTime, readDaemonPid, readDaemonState, writeDaemonState } from '../src/index.js';

const started: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of started.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
    expect(pidAlive(c.pid!)).toBe(false);
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sleeper(script = 'exec sleep 30'): ChildProcess {
  const c = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(c);
  return c;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function home(): ReturnType<typeof daemonPaths> {
  const d = mkdtempSync(path.join(os.tmpdir(), 'apiary-liveness-'));
  dirs.push(d);
  return daemonPaths(d);
}

describe('pidAlive', () => {
  it('a zombie (exited, never reaped) counts as dead', async () => {
    // sh starts `sleep 0` in the background, prints its pid, then becomes `sleep 30`, which never
    // waits: the finished `sleep 0` stays a zombie for as long as its parent lives.
    const parent = sleeper('sleep 0 & echo $!; exec sleep 30');
    const line = await new Promise<string>((r) => parent.stdout!.once('data', (d: Buffer) => r(d.toString())));
    const zombie = Number(line.trim());
    const stateOf = () => {
      try {
        return readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return undefined;
      }
    };
    await waitFor(() => stateOf() === 'Z', 10_000, `pid ${zombie} to become a zombie`);
    expect(() => process.kill(zombie, 0)).not.toThrow(); // signal 0 alone would call it alive
    expect(pidAlive(zombie)).toBe(false);
    expect(pidAlive(parent.pid!)).toBe(true);
  });

  it('a live pid with another start time (a reused pid) counts as dead; the right one or none counts as alive', () => {
    const c = sleeper();
    const start = processStartTime(c.pid!);
    expect(start).toBeGreaterThan(0);
    expect(pidAlive(c.pid!, start)).toBe(true);
    expect(pidAlive(c.pid!)).toBe(true);
    expect(pidAlive(c.pid!, start! - 1)).toBe(false);
  });
});

describe('daemon state files', () => {
  it('record the start time; a state file naming a live pid with a wrong start time reads as no daemon', () => {
    const c = sleeper();
    const p = home();
    writeDaemonState(p, { url: 'http://127.0.0.1:1', pid: c.pid!, startedAt: Date.now() });
    expect(readDaemonState(p)?.startTime).toBe(processStartTime(c.pid!));
    expect(readDaemonPid(p)).toBe(c.pid);

    writeDaemonState(p, { url: 'http://127.0.0.1:1', pid: c.pid!, startedAt: Date.now(), startTime: processStartTime(c.pid!)! + 7 });
    expect(readDaemonState(p)).toBeNull();
    expect(readDaemonPid(p)).toBeNull();
  });

  it('old files without a start time are still read by pid', () => {
    const c = sleeper();
    const p = home();
    writeFileSync(p.stateFile, JSON.stringify({ url: 'http://127.0.0.1:1', pid: c.pid, startedAt: 1 }));
    writeFileSync(p.pidFile, `${c.pid}\n`);
    expect(readDaemonState(p)?.pid).toBe(c.pid);
    expect(readDaemonPid(p)).toBe(c.pid);
  });
});
