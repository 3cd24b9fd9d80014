import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { QUEEN_BIN, tempHome } from './helpers/colony.js';
import { pidsWithHome, waitGone } from './helpers/procs.js';

/**
 * `--host localhost` listens on every loopback address localhost names (fastify binds a second server
 * for the other one). The queen answers POST /v1/tasks ahead of fastify (http/lean-submit.ts); a
 * serverFactory for that made fastify skip the second server, so clients of the other address were
 * refused. The queen runs in a mount namespace whose /etc/hosts names both 127.0.0.1 and ::1.
 */
let home = '';
afterEach(async () => {
  const left = pidsWithHome(home);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  await waitGone(left, 5_000);
  rmSync(home, { recursive: true, force: true });
});

it('--host localhost answers on both 127.0.0.1 and ::1, health and a submitted task', async () => {
  home = tempHome();
  const hosts = path.join(home, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost\n');
  // unshare execs sh, which execs node: the child's pid is the queen's.
  const script = `mount --bind "$1" /etc/hosts && exec "$2" "$3" --host localhost --port 0 --bees 0`;
  const q = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', hosts, process.execPath, QUEEN_BIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, APIARY_HOME: home, APIARY_LOG_LEVEL: 'warn' },
  });
  const stderr: string[] = [];
  createInterface({ input: q.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: q.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
    q.once('exit', (c) => reject(new Error(`queen exited ${c}:\n${stderr.join('\n')}`)));
  });
  const port = new URL(url).port;
  const token = readFileSync(path.join(home, 'tokens', 'client.token'), 'utf8').trim();
  for (const host of ['127.0.0.1', '[::1]']) {
    const base = `http://${host}:${port}`;
    expect((await fetch(`${base}/v1/health`)).status, host).toBe(200);
    const r = await fetch(`${base}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spec: { kind: 'sql', sql: 'SELECT 1' } }),
    });
    expect(r.status, host).toBe(202);
    expect(((await r.json()) as { state: string }).state).toBe('queued');
  }
  q.kill('SIGTERM');
  await waitGone([q.pid!], 10_000);
  expect(pidsWithHome(home)).toEqual([]);
});
