// Ledger cost per task with random (v4) vs time-ordered (v7) task ids, on a real SqliteLedger over a
// ledger that already holds 50,000 tasks: each task is created, started and finished in batches of 16
// (one commit per step, as CommitThenSend does under load). Prints CPU, write syscalls and bytes
// written per task (/proc/self/io). Needs a build (npm run build). Run: node scripts/bench/ledger-ids.mjs
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../services/queen/dist/tasks/sqlite-ledger.js';
import { openQueenDb } from '../../services/queen/dist/db/queen-db.js';
import { newTaskId } from '../../services/queen/dist/tasks/task-id.js';
import { newTaskRecord } from '../../services/queen/dist/tasks/new-task.js';

const io = () =>
  Object.fromEntries(
    readFileSync('/proc/self/io', 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [k, v] = l.split(': ');
        return [k, Number(v)];
      }),
  );
async function run(label, gen) {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-bench-ledger-ids-'));
  const db = openQueenDb(join(dir, 'q.db'));
  const ledger = new SqliteLedger({ db });
  // Warm: 50,000 finished tasks so the B-trees are deep, as on a queen that has run a while.
  // The queen's own first record of a submitted task, with the id under test.
  const mk = (id) => ({ ...newTaskRecord({ kind: 'js', module: 'm.mjs', export: 'default', args: { i: 1 } }, {}, {}, 3), id });
  for (let b = 0; b < 50; b++) ledger.createMany(Array.from({ length: 1000 }, () => mk(gen())));
  const i0 = io();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const N = 20000,
    BATCH = 16;
  for (let b = 0; b < N / BATCH; b++) {
    const recs = Array.from({ length: BATCH }, () => mk(gen()));
    ledger.createMany(recs);
    for (const r of recs) {
      r.state = 'running';
      r.attempts.push({ attempt: 1, hive: 'h#1', bee: 0, startedAt: Date.now(), durationMs: 0, error: null, token: '1.1.abcdefabcdef' });
      ledger.update(r);
    }
    ledger.flush();
    for (const r of recs) {
      r.state = 'succeeded';
      r.value = { kind: 'js', value: 1 };
      r.finishedAt = Date.now();
      ledger.update(r);
    }
    ledger.flush();
  }
  const c = process.cpuUsage(c0);
  const i = io();
  console.log(
    label.padEnd(12),
    'CPU us/task',
    ((c.user + c.system) / N).toFixed(1),
    'write syscalls/task',
    ((i.syscw - i0.syscw) / N).toFixed(2),
    'bytes written/task',
    ((i.wchar - i0.wchar) / N).toFixed(0),
    'wall ms',
    (performance.now() - t0).toFixed(0),
  );
  ledger.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
for (let k = 0; k < 2; k++) {
  await run('uuid v4', () => randomUUID());
  await run('uuid v7', () => newTaskId());
}
