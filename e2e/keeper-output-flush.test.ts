import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { KEEPER_BIN } from './helpers/colony.js';
import { useDaemon } from './helpers/use-daemon.js';

/** Rows printed ("1\r\n" each, ~90 KB): more than a pipe holds (64 KiB). */
const ROWS = 30_000;
/** The slow reader: this many bytes per read, then a pause, so a full pipe stays full for seconds. */
const READ_BYTES = 4096;
const READ_PAUSE_MS = 100;
const TEST_TIMEOUT_MS = 120_000;

/** Reads stdin slowly into the file named by argv[1]: a consumer that cannot keep up (a busy test runner, a slow terminal). */
const SLOW_READER = `
const fs = require('node:fs');
const out = fs.openSync(process.argv[1], 'w');
const buf = Buffer.alloc(${READ_BYTES});
const step = () => {
  let n;
  try { n = fs.readSync(0, buf, 0, buf.length, null); } catch (e) { if (e.code === 'EAGAIN') return setTimeout(step, 10); throw e; }
  if (n === 0) return fs.closeSync(out);
  fs.writeSync(out, buf, 0, n);
  setTimeout(step, ${READ_PAUSE_MS});
};
step();
`;

/**
 * Node writes to a piped stdout asynchronously on Linux, and process.exit() drops what the reader has
 * not taken yet: the keeper's last small write (after its last wait for a drain) sat in the stream's
 * buffer while a slow reader still had a full pipe, and was lost with exit code 0 (a busy CI run's
 * `keeper sql --format csv` of 1,000,001 rows printed 999,422). The keeper must exit only once its
 * output is out.
 */
describe('keeper output to a slow reader', () => {
  // A daemon: the keeper's own end is quick there (an ephemeral run's teardown gave a slow reader time to catch up).
  const daemon = useDaemon(['--bees', '1']);

  it(
    `all ${ROWS} csv rows reach a reader slower than the keeper`,
    async () => {
      const d = daemon();
      const out = path.join(d.home, 'out.csv');
      const script = `"$NODE" "$KEEPER" sql --format csv "SELECT 1 AS x FROM range(${ROWS})" | "$NODE" -e "$READER" "$OUT"; exit \${PIPESTATUS[0]}`;
      const r = await execa('bash', ['-c', script], {
        reject: false,
        stdin: 'ignore',
        timeout: TEST_TIMEOUT_MS,
        env: { NODE: process.execPath, KEEPER: KEEPER_BIN, READER: SLOW_READER, OUT: out, APIARY_HOME: d.home, APIARY_LOG_LEVEL: 'warn' },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = readFileSync(out, 'utf8').split('\r\n');
      // header, rows, '' after the last CRLF
      expect([lines[0], lines.length, lines.at(-2)]).toEqual(['x', ROWS + 2, '1']);
    },
    TEST_TIMEOUT_MS,
  );
});
