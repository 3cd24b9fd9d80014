import { ApiaryError } from '@apiary/protocol';
import type { Ssh } from './ssh.js';

const MARK = '@@apiary-setup';

/**
 * The cluster file's setup commands, in order, as ONE remote script (each exec costs a shell
 * start on the host). Each runs in its own subshell, as a separate exec would; the first that
 * fails stops the rest and is named in the error with the last lines of its own output.
 */
export async function runSetupCommands(ssh: Ssh, commands: readonly string[], timeoutMs = 600_000): Promise<void> {
  if (commands.length === 0) return;
  // A marker line on both streams before each command lets us cut out the failing one's output.
  const script = commands
    .map(
      (c, i) =>
        `printf '\\n${MARK} ${i}\\n'; printf '\\n${MARK} ${i}\\n' >&2; (\n${c}\n) || { rc=$?; printf '\\n${MARK}-failed ${i} %s\\n' "$rc" >&2; exit 1; }`,
    )
    .join('\n');
  const r = await ssh.exec(script, { timeoutMs });
  if (r.code === 0) return;
  const failed = /@@apiary-setup-failed (\d+) (\d+)/.exec(r.stderr);
  const i = failed ? Number(failed[1]) : lastStarted(r.stderr);
  const code = failed ? failed[2] : (r.code ?? r.signal);
  const own = (text: string) =>
    (text.split(`${MARK} ${i}\n`).at(-1) ?? '')
      .replace(/\n?@@apiary-setup-failed.*\n?/, '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' / ');
  throw new ApiaryError('SETUP_FAILED', `${ssh.target.name}: setup command \`${commands[i] ?? '?'}\` exited ${code}: ${own(r.stderr) || own(r.stdout)}`);
}

function lastStarted(stderr: string): number {
  const all = [...stderr.matchAll(/@@apiary-setup (\d+)\n/g)];
  return all.length ? Number(all.at(-1)![1]) : 0;
}
