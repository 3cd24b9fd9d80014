import { rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEPER_BIN, tempHome } from './helpers/colony.js';
import { killAll, pidsWithHome } from './helpers/procs.js';

/** Rows printed: far more than a pipe (64 KiB) and the stream's own buffer hold. */
const ROWS = 300_000;
/**
 * How long the test leaves the keeper's stdout unread. Not a timing contract: a keeper that exits
 * within it with rows still buffered is the bug; one that waits for the reader (the fix) is read
 * afterwards whatever the load; a run slower than this merely cannot show the bug.
 */
const HOLD_READS_MS = 5000;
const TEST_TIMEOUT_MS = 120_000;

/**
 * Node writes to a piped stdout asynchronously on Linux, and process.exit() drops what the reader
 * has not taken yet: `keeper sql --format csv` of a million rows to a slow reader once lost its last
 * ~600 rows and exited 0. The keeper must exit only once its output is out.
 */
describe('keeper output to a slow reader', () => {
  let home: string;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    const left = pidsWithHome(home);
    killAll(left);
    rmSync(home, { recursive: true, force: true });
    expect(left, 'processes left behind').toEqual([]);
  });

  it(
    `every one of ${ROWS} csv rows reaches a reader that does not read until the keeper would have exited`,
    async () => {
      const child = spawn(process.execPath, [KEEPER_BIN, 'sql', '--format', 'csv', `SELECT 1 AS x FROM range(${ROWS})`], {
        env: { ...process.env, APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pause();
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // Hold the reads until the keeper has exited (the bug) or the hold is over (the keeper waits for us).
      await Promise.race([exited, new Promise((r) => setTimeout(r, HOLD_READS_MS))]);
      const chunks: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stdout.resume();
      const closed = new Promise<void>((r) => child.stdout.once('close', () => r()));
      const code = await exited;
      await closed;
      expect(code, stderr).toBe(0);
      const lines = Buffer.concat(chunks).toString('utf8').split('\r\n');
      expect(lines[0]).toBe('x');
      expect(lines.length).toBe(ROWS + 2); // header, rows, '' after the last CRLF
      expect(lines.at(-2)).toBe('1');
    },
    TEST_TIMEOUT_MS,
  );
});
