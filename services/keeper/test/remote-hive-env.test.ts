import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, MALLOC_ENV, stopProcess } from '@apiary/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachedCommand, mallocEnvWords, NAMES, startDetachedScript, type RemoteLayout } from '../src/cluster/remote-hive.js';

/*
 * A hive that `cluster up` starts over SSH gets runtime's malloc defaults (MALLOC_ARENA_MAX=2) in
 * its own environment, as a queen's local hive does: glibc reads them at exec, so the shell line
 * that starts it must set them. Run here through a real /bin/sh (what sshd runs the line with); in
 * place of the hive bundle, a script that records the environment it was started with.
 */

const RECORD_ENV = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./env.json', import.meta.url), JSON.stringify(process.env));
`;
/** How long the detached start may take to write its record on a loaded machine. */
const RECORD_WAIT_MS = 10_000;

let root = '';
let layout: RemoteLayout;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'apiary-remote-env-'));
  layout = { installDir: path.join(root, 'install dir'), home: path.join(root, 'home') };
  mkdirSync(layout.installDir);
  mkdirSync(layout.home);
  writeFileSync(path.join(layout.installDir, NAMES.hive), RECORD_ENV);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The host's environment: node on PATH, plus what the test adds. */
const hostEnv = (extra: Record<string, string> = {}) => ({ PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...extra });
const sh = (line: string, env: NodeJS.ProcessEnv) => execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8', env, timeout: RECORD_WAIT_MS });

async function recordedEnv(): Promise<Record<string, string>> {
  const file = path.join(layout.installDir, 'env.json');
  const deadline = Date.now() + RECORD_WAIT_MS;
  for (;;) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('remote hive start lines set the malloc defaults', () => {
  it('the words set each default, and leave a value the host set alone', () => {
    expect(MALLOC_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(sh(`${mallocEnvWords()} exec env`, hostEnv())).toContain('MALLOC_ARENA_MAX=2\n');
    expect(sh(`${mallocEnvWords()} exec env`, hostEnv({ MALLOC_ARENA_MAX: '8' }))).toContain('MALLOC_ARENA_MAX=8\n');
  });

  it('an attached (ephemeral) hive starts with MALLOC_ARENA_MAX=2 and its APIARY_HOME', async () => {
    sh(attachedCommand(layout), hostEnv());
    const env = await recordedEnv();
    expect([env.MALLOC_ARENA_MAX, env.APIARY_HOME]).toEqual(['2', layout.home]);
  });

  it('a detached (persistent) hive starts with it too', async () => {
    const pid = Number(sh(startDetachedScript(layout), hostEnv()).trim());
    expect(pid).toBeGreaterThan(0);
    const env = await recordedEnv();
    expect([env.MALLOC_ARENA_MAX, env.APIARY_HOME]).toEqual(['2', layout.home]);
    // The stand-in exits once it has written its record: nothing is left running.
    await stopProcess(pid, { graceMs: RECORD_WAIT_MS, signal: null });
    expect(isAlive(pid)).toBe(false);
  });
});
