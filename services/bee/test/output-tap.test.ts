import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEE_ENV, type BeeToHive } from '@apiary/protocol';
import { waitForExit, waitUntil } from '@apiary/runtime';
import { afterEach, describe, expect, it } from 'vitest';

const BEE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bee.bundle.mjs');
/** Bee start-up and two tiny tasks on a machine other test files keep busy. */
const LOAD_BOUND_MS = 30_000;

/** Task code: `cut` ends its output in the middle of a 3-byte character (€ is e2 82 ac); `plain` writes bytes. */
const TASKS = `
export function cut() { process.stdout.write(Buffer.from([0x61, 0xe2, 0x82])); return 1; }
export function plain() { process.stdout.write(Buffer.from('b\\n')); return 2; }
export function whole() { process.stdout.write(Buffer.from([0xe2])); process.stdout.write(Buffer.from([0x82, 0xac, 0x0a])); return 3; }
`;

describe('the bee output tap', () => {
  const bees: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    const pids = bees.splice(0).map((b) => b.pid!);
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    expect(await waitForExit(pids, LOAD_BOUND_MS)).toBe(true);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("decodes each task's bytes on their own: a character cut at the end of one task's output does not reach the next task's", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-bee-tap-'));
    dirs.push(dir);
    const mod = path.join(dir, 'tasks.mjs');
    writeFileSync(mod, TASKS);
    const env = {
      ...process.env,
      [BEE_ENV.id]: '0',
      [BEE_ENV.budget]: String(512 * 2 ** 20),
      [BEE_ENV.duck]: String(256 * 2 ** 20),
      [BEE_ENV.scratch]: dir,
      [BEE_ENV.hive]: String(process.pid),
    };
    const bee = fork(BEE, [], { env, detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    bees.push(bee);
    const got: BeeToHive[] = [];
    bee.on('message', (m: BeeToHive) => got.push(m));
    const task = (taskId: string, exp: string) => ({ taskId, spec: { kind: 'js', module: mod, export: exp, args: {} }, scratchDir: dir });
    // Queued together: the same bee runs them back to back.
    bee.send({ type: 'runs', tasks: [task('t-cut', 'cut'), task('t-plain', 'plain'), task('t-whole', 'whole')] });
    const done = (id: string) => got.some((m) => (m.type === 'result' || m.type === 'error') && m.taskId === id);
    expect(await waitUntil(() => done('t-whole'), LOAD_BOUND_MS)).toBe(true);
    const output = (id: string) =>
      got
        .filter((m) => m.type === 'output' && m.taskId === id)
        .map((m) => (m.type === 'output' ? m.data : ''))
        .join('');
    expect(got.filter((m) => m.type === 'error')).toEqual([]);
    // The cut character never completes: it ends its own task's output (U+FFFD), not the next one's.
    expect(output('t-cut')).toBe('a\ufffd');
    expect(output('t-plain')).toBe('b\n');
    // Within one task a character split across writes is still joined.
    expect(output('t-whole')).toBe('€\n');
  });
});
