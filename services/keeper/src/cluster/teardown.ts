import { shellQuote } from './shell.js';
import { toWireError, type WireError } from '@apiary/protocol';
import type { QueenClient } from '../client.js';
import { expandHome } from './preflight.js';
import { killOurProcesses, ourProcesses, ownPattern, stopScript, type RemoteLayout } from './remote-hive.js';
import type { HostSpec, HostUp } from './provision.js';
import { Ssh } from './ssh.js';

export type DownOutcome = { host: string; ok: true; via: string } | { host: string; ok: false; error: WireError };

async function layoutOf(ssh: Ssh, h: HostSpec): Promise<RemoteLayout> {
  // Absolute paths need no round trip; ~/… needs the host's $HOME.
  if (h.installDir.startsWith('/') && h.home.startsWith('/')) return { installDir: h.installDir, home: h.home };
  const home = (await ssh.exec('printf %s "$HOME"', { timeoutMs: 15_000 })).stdout.trim();
  return { installDir: expandHome(h.installDir, home), home: expandHome(h.home, home) };
}

/** After a stop: nothing started from our install dir may remain on the host; make sure, by pid. */
export async function verifyClean(ssh: Ssh, l: RemoteLayout): Promise<void> {
  if ((await ourProcesses(ssh, l)).length === 0) return;
  await killOurProcesses(ssh, l);
  await new Promise((r) => setTimeout(r, 300));
  const left = await ourProcesses(ssh, l);
  if (left.length > 0) throw new Error(`processes of ours still running on ${ssh.target.name}: ${left.join(', ')}`);
}

/** Shell: stop our hive by pidfile, then SIGKILL anything still started from the install dir; print what is left. */
function stopAndVerifyScript(l: RemoteLayout, graceMs: number): string {
  const pat = shellQuote(ownPattern(l.installDir));
  return [
    stopScript(l, graceMs),
    `p=$(pgrep -f -- ${pat})`,
    `if [ -n "$p" ]; then kill -KILL $p 2>/dev/null; sleep 0.3; p=$(pgrep -f -- ${pat}); fi`,
    'echo left=$p',
  ].join('\n');
}

/**
 * Stop one host's hive: through the queen when it is connected (the hive drains and stops its
 * bees), then over SSH by pidfile for one that is not, and finally verify on the host itself.
 */
export async function downHost(h: HostSpec, queen: QueenClient | null, graceMs: number): Promise<DownOutcome> {
  let via = 'ssh';
  try {
    if (queen && (await queen.stopHive(h.name, graceMs).catch(() => false))) {
      via = 'queen';
      const deadline = Date.now() + graceMs + 5000;
      while (Date.now() < deadline && (await queen.colony()).hives.some((x) => x.resources.name === h.name)) await new Promise((r) => setTimeout(r, 100));
    }
    const ssh = await Ssh.connect(h, { readyTimeoutMs: 8000 });
    try {
      const l = await layoutOf(ssh, h);
      // Stop and verify in one exec. The script goes on stdin to `sh -s`: on a command line its
      // paths would make the shell running it match the pgrep pattern of our own processes.
      const r = await ssh.exec('sh -s', { stdin: stopAndVerifyScript(l, graceMs), timeoutMs: graceMs + 20_000 });
      const left = /^left=(.*)$/m.exec(r.stdout)?.[1]?.trim();
      if (left === undefined)
        throw new Error(`${ssh.target.name}: stopping the hive failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
      if (left) throw new Error(`processes of ours still running on ${ssh.target.name}: ${left.split(/\s+/).join(', ')}`);
    } finally {
      ssh.close();
    }
    return { host: h.name, ok: true, via };
  } catch (e) {
    return { host: h.name, ok: false, error: toWireError(e, 'REMOTE_COMMAND_FAILED') };
  }
}

/** Ephemeral run: close each attached hive's channel (its stdin ends, it stops), then verify the host. */
export async function releaseAttached(up: HostUp): Promise<DownOutcome> {
  try {
    up.channel?.end();
    up.channel?.close();
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (await ourProcesses(up.ssh, up.layout)).length > 0) await new Promise((r) => setTimeout(r, 100));
    await verifyClean(up.ssh, up.layout);
    return { host: up.host.name, ok: true, via: 'channel closed' };
  } catch (e) {
    return { host: up.host.name, ok: false, error: toWireError(e, 'REMOTE_COMMAND_FAILED') };
  } finally {
    up.ssh.close();
  }
}
