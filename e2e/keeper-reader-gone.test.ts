import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { KEEPER_BIN } from './helpers/colony.js';
import { keeper } from './helpers/keeper.js';
import { pidsWithHome, waitFor } from './helpers/procs.js';
import { useTempHome } from './helpers/temp-dirs.js';
import { useDaemon } from './helpers/use-daemon.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

/**
 * `keeper sql … | head -1`: head exits after one line and the keeper's next write fails with EPIPE.
 * That must end the keeper quietly (no stack trace), with the status a shell gives a writer whose
 * reader went (128 + SIGPIPE, as `seq 1e9 | head -1` under pipefail), after it has cancelled its
 * query and taken down what it started.
 */
const EXIT_READER_GONE = 128 + constants.signals.SIGPIPE;
/** ~500 MB of CSV if it ran to the end: the keeper is still writing when head goes. */
const SQL = "SELECT range AS i, repeat('y', 100) AS pad FROM range(5000000)";
/** ~2 MB of JSON, printed in one write at the end (table and json gather every row first): more than a pipe holds. */
const SQL_JSON = 'SELECT range AS i FROM range(200000)';
const TEST_TIMEOUT_MS = 120_000;
/** A cancelled query's task is recorded within the cancel's round trips plus a loaded machine's margin. */
const CANCEL_SEEN_MS = 5 * LOAD_MARGIN_MS;

/** The keeper piped into `head` (-1: one line; -c 10: ten bytes) by bash; the keeper's own exit status (PIPESTATUS[0]) and stderr. */
function keeperIntoHead(home: string, format: 'csv' | 'json', sql = SQL, head = '-1') {
  return execa('bash', ['-c', `"$NODE" "$KEEPER" sql --format ${format} "$SQL" | head ${head}; exit \${PIPESTATUS[0]}`], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    timeout: TEST_TIMEOUT_MS,
    env: { NODE: process.execPath, KEEPER: KEEPER_BIN, SQL: sql, APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn' },
  });
}

/** What the keeper must never print when its reader goes: Node's unhandled-error report. */
const UNHANDLED = /EPIPE|Unhandled 'error' event|node:events/;

describe('keeper sql | head -1: a reader that goes away', () => {
  describe('one-shot (ephemeral colony)', () => {
    const home = useTempHome();

    it(
      `prints the first line, exits ${EXIT_READER_GONE} without a stack trace, and takes its colony down`,
      async () => {
        const r = await keeperIntoHead(home(), 'csv');
        expect(r.stdout).toBe('i,pad\r\n');
        expect(r.stderr).not.toMatch(UNHANDLED);
        expect(r.exitCode, r.stderr).toBe(EXIT_READER_GONE);
        // The keeper stops its colony before it exits: no process, run dir or spool of it is left.
        expect(pidsWithHome(home())).toEqual([]);
        expect(readdirSync(home(), { recursive: true }), 'left in APIARY_HOME').toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );
  });

  describe('against a daemon', () => {
    const daemon = useDaemon(['--bees', '1']);

    it(
      `exits ${EXIT_READER_GONE} quietly, and the daemon cancels the query and keeps serving`,
      async () => {
        const d = daemon();
        const t0 = Date.now();
        const r = await keeperIntoHead(d.home, 'csv');
        expect(r.stdout).toBe('i,pad\r\n');
        expect(r.stderr).not.toMatch(UNHANDLED);
        expect(r.exitCode, r.stderr).toBe(EXIT_READER_GONE);
        const cancelled = await waitFor(
          async () => (await d.client.list('cancelled', 20)).tasks.find((t) => t.kind === 'sql' && t.createdAt >= t0),
          CANCEL_SEEN_MS,
          'the streamed query task cancelled',
        );
        expect(cancelled.error?.code).toBe('TASK_CANCELLED');
        const next = await keeper(['sql', 'SELECT 42 AS x', '--format', 'csv'], d.home);
        expect([next.exitCode, next.stdout]).toEqual([0, 'x\r\n42\r\n']);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      `a result printed in one write at the end (json) that the reader leaves untaken: ${EXIT_READER_GONE} too, not 0`,
      async () => {
        const r = await keeperIntoHead(daemon().home, 'json', SQL_JSON, '-c 10');
        expect(r.stdout).toHaveLength(10);
        expect(r.stdout.startsWith('[')).toBe(true);
        expect(r.stderr).not.toMatch(UNHANDLED);
        expect(r.exitCode, r.stderr).toBe(EXIT_READER_GONE);
      },
      TEST_TIMEOUT_MS,
    );
  });
});
