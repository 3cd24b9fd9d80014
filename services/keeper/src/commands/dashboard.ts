import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApiaryError, type DashboardCode, type WireError } from '@apiary/protocol';
import { parse } from '../args.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { request, type RawResponse } from '../http-request.js';

export const DASHBOARD_USAGE = `keeper dashboard [--no-open] [--json] [--queen URL]
  Print (and open in a browser, when one is available) a one-time login URL for the queen's web
  dashboard. The link works once, within 60 s; the page keeps a session cookie, never your token.`;

/** No queen, nothing to show (as for status). */
const NOT_RUNNING = 3;

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'no-open': { type: 'boolean' },
    json: { type: 'boolean' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(DASHBOARD_USAGE + '\n');
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`keeper dashboard takes no arguments (got "${positionals[0]}")`);
  const t = findQueen(values.queen);
  if (!t) {
    process.stderr.write('no queen is running: start one with `keeper queen start --detach`, or pass --queen URL\n');
    return NOT_RUNNING;
  }
  const code = await mintCode(t.url, t.token);
  const url = t.url + code.path;
  if (values.json) {
    process.stdout.write(JSON.stringify({ url, expiresAt: code.expiresAt }) + '\n');
  } else {
    const secs = Math.round((code.expiresAt - Date.now()) / 1000);
    process.stdout.write(`Open the dashboard (this link logs in once, within ${secs} s):\n  ${url}\n`);
  }
  if (!values['no-open'] && openInBrowser(url) && !values.json) process.stdout.write('(opening it in your browser)\n');
  return EXIT.OK;
}

async function mintCode(url: string, token: string): Promise<DashboardCode> {
  let res: RawResponse;
  try {
    res = await request(`${url}/v1/dashboard/codes`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new ApiaryError('QUEEN_UNREACHABLE', `cannot reach the queen at ${url}: ${(e as Error).message}`);
  }
  const body = JSON.parse(res.text || 'null') as (DashboardCode & Partial<WireError>) | null;
  if (res.status !== 200) throw new ApiaryError(body?.code ?? 'INTERNAL', body?.message ?? `HTTP ${res.status} from the queen`);
  return body!;
}

/**
 * Hand the URL to the desktop's opener when there is a desktop: never an error when there is none
 * (a server over SSH prints the link and that is all). Returns whether an opener was started.
 */
function openInBrowser(url: string): boolean {
  const opener =
    process.platform === 'darwin' ? 'open' : process.platform === 'linux' && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) ? 'xdg-open' : null;
  if (!opener || !onPath(opener)) return false;
  try {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d !== '' && existsSync(path.join(d, cmd)));
}
