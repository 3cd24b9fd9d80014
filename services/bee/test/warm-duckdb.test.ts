import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEE_ENV } from '@apiary/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const BEE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bee.bundle.mjs');
/** Bee start-up plus DuckDB's load on a machine other test files keep busy. */
const LOAD_BOUND_MS = 30_000;

const hasDuckdb = (pid: number) => readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libduckdb');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(f: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LOAD_BOUND_MS;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a bee loads DuckDB only when asked or needed', () => {
  const bees: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const b of bees.splice(0)) {
      if (b.pid && alive(b.pid)) process.kill(-b.pid, 'SIGKILL');
      if (b.pid) await until(() => !alive(b.pid!), `bee ${b.pid} to exit`);
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Fork the built bee as a hive would (own group, IPC, the BEE_ENV contract); resolves at `ready`. */
  function startBee(extra: Record<string, string>): Promise<number> {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'apiary-bee-test-'));
    dirs.push(scratch);
    const env = {
      ...process.env,
      [BEE_ENV.id]: '0',
      [BEE_ENV.budget]: String(512 * 2 ** 20),
      [BEE_ENV.duck]: String(256 * 2 ** 20),
      [BEE_ENV.scratch]: scratch,
      [BEE_ENV.hive]: String(process.pid),
      ...extra,
    };
    const bee = fork(BEE, [], { env, detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    bees.push(bee);
    return new Promise((resolve, reject) => {
      bee.once('message', (m: { type?: string; pid?: number }) =>
        m.type === 'ready' && m.pid ? resolve(m.pid) : reject(new Error(`unexpected ${JSON.stringify(m)}`)),
      );
      bee.once('exit', (code) => reject(new Error(`bee exited (${code}) before ready`)));
    });
  }

  it(`${BEE_ENV.warmDuckdb}=1: DuckDB is loaded with no task sent; without it, it is not`, async () => {
    const [warm, cold] = await Promise.all([startBee({ [BEE_ENV.warmDuckdb]: '1' }), startBee({})]);
    await until(() => hasDuckdb(warm), 'the warm bee to load DuckDB');
    // Both started together and neither got a task: the cold one has had as long, and stays without it.
    expect(hasDuckdb(cold)).toBe(false);
  });
});
