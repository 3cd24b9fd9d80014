import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEEN_BIN } from './helpers/colony.js';
import { killAll, pidsWithHome } from './helpers/procs.js';

/*
 * An ephemeral queen with no local hive (`keeper sql --cluster`'s) keeps frames in a temp data root
 * under the system temp dir. One that could not start (its port taken) used to exit without
 * removing it: one /tmp/apiary-data-* per CI run, from the cluster test of QUEEN_START_FAILED.
 * TMPDIR points the queen's temp dir into this test's own dir, so nothing else's roots are seen.
 */

/** Start-up, a failed listen and exit: a few seconds on a loaded machine. */
const EXIT_TIMEOUT_MS = 30_000;

describe('a queen that fails to start', () => {
  let home = '';
  let blocker: Server | null = null;

  afterEach(async () => {
    if (home) {
      killAll(pidsWithHome(home));
      rmSync(home, { recursive: true, force: true });
    }
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    blocker = null;
  });

  it('removes its temp data root when its port is taken', async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'apiary-startfail-'));
    const tmp = path.join(home, 'tmp');
    mkdirSync(tmp);
    blocker = createServer();
    const port = await new Promise<number>((r) => blocker!.listen(0, '127.0.0.1', () => r((blocker!.address() as { port: number }).port)));
    const token = () => randomBytes(24).toString('base64url');
    const queen = spawn(process.execPath, [QUEEN_BIN, '--ephemeral', '--no-local-hive', '--host', '127.0.0.1', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, APIARY_HOME: home, TMPDIR: tmp, APIARY_CLIENT_TOKEN: token(), APIARY_JOIN_TOKEN: token() },
    });
    let stderr = '';
    queen.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`queen still running after ${EXIT_TIMEOUT_MS} ms: ${stderr}`)), EXIT_TIMEOUT_MS);
      queen.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code, stderr).not.toBe(0);
    expect(stderr).toMatch(/EADDRINUSE/);
    // The root was made (the queen's frames exist from construction) and must be gone again.
    expect(readdirSync(tmp).filter((n) => n.startsWith('apiary-data-'))).toEqual([]);
  });
});
