/**
 * Quoting for commands that reach a remote POSIX shell (an SSH `exec` request always goes through
 * the login shell). Every argument is single-quoted, so nothing inside it is expanded: no `$`,
 * no backticks, no globbing, no word splitting. A `'` inside the argument becomes `'\''` (close the
 * quote, an escaped quote, reopen). The empty string becomes `''` so that it stays an argument.
 * Newlines and any other bytes are literal inside single quotes.
 *
 * NUL cannot be passed to a process as part of an argument at all, so it is refused.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('shellQuote: an argument cannot contain a NUL byte');
  // Always quoted, even when it looks harmless: `a=b` as a command's first word would otherwise
  // be an assignment, and `~x` a tilde expansion.
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One shell command line running `argv` exactly: every element quoted, joined with spaces. */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('remoteCommand: argv is empty');
  return argv.map(shellQuote).join(' ');
}

/**
 * A validated remote path (see the cluster file's remote path rule) as a shell word. A path
 * starting with `~/` means "under the remote user's home": quoting would stop the shell from
 * expanding `~`, so it becomes `"$HOME"/'rest'`, which the remote shell expands safely.
 */
export function shellQuoteRemotePath(remotePath: string): string {
  if (remotePath.startsWith('~/')) {
    const rest = remotePath.slice(2);
    return rest === '' ? '"$HOME"' : `"$HOME"/${shellQuote(rest)}`;
  }
  return shellQuote(remotePath);
}

/**
 * A remote path for SFTP, which never expands `~`: a `~/x` path becomes the relative `x`, which the
 * SFTP server (OpenSSH's sftp-server) resolves against the login directory, i.e. the user's home.
 */
export function sftpRemotePath(remotePath: string): string {
  if (remotePath === '~' || remotePath === '~/') return '.';
  return remotePath.startsWith('~/') ? remotePath.slice(2) : remotePath;
}
