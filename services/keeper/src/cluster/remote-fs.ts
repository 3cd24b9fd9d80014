import { statSync } from 'node:fs';
import path from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { ApiaryError } from '@apiary/protocol';
import { remoteCommand } from '@apiary/config';
import type { InstallFile } from './install-set.js';
import type { Ssh } from './ssh.js';

const sftpCall = <T>(f: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

async function remoteStat(sftp: SFTPWrapper, p: string): Promise<{ size: number; mtime: number } | null> {
  try {
    const s = await sftpCall<{ size: number; mtime: number }>((cb) => sftp.stat(p, cb as never));
    return { size: s.size, mtime: s.mtime };
  } catch {
    return null;
  }
}

async function remoteText(sftp: SFTPWrapper, p: string): Promise<string | null> {
  try {
    return (await sftpCall<Buffer>((cb) => sftp.readFile(p, cb as never))).toString();
  } catch {
    return null;
  }
}

/**
 * Upload what changed over SFTP: a file is skipped when the remote copy has the same size and
 * mtime (we set the remote mtime to the local one after each upload); generated content is compared
 * byte for byte. Returns how many files were written.
 */
export async function syncFiles(ssh: Ssh, files: InstallFile[]): Promise<number> {
  const dirs = [...new Set(files.map((f) => path.posix.dirname(f.remote)))];
  const mk = await ssh.exec(remoteCommand(['mkdir', '-p', ...dirs]), { timeoutMs: 30_000 });
  if (mk.code !== 0) throw new ApiaryError('SETUP_FAILED', `${ssh.target.name}: mkdir failed: ${mk.stderr.trim()}`);
  const sftp = await ssh.sftp();
  let written = 0;
  for (const f of files) {
    try {
      if (f.content !== undefined) {
        if ((await remoteText(sftp, f.remote)) === f.content) continue;
        await sftpCall<void>((cb) => sftp.writeFile(f.remote, f.content!, { mode: f.mode }, cb as never));
        await sftpCall<void>((cb) => sftp.chmod(f.remote, f.mode, cb as never));
      } else {
        const local = statSync(f.local!);
        const mtime = Math.floor(local.mtimeMs / 1000);
        const remote = await remoteStat(sftp, f.remote);
        if (remote && remote.size === local.size && remote.mtime === mtime) continue;
        await sftpCall<void>((cb) => sftp.fastPut(f.local!, f.remote, { mode: f.mode }, cb as never));
        await sftpCall<void>((cb) => sftp.utimes(f.remote, mtime, mtime, cb as never));
      }
      written++;
    } catch (e) {
      throw new ApiaryError('SETUP_FAILED', `${ssh.target.name}: upload of ${f.remote} failed: ${(e as Error).message}`);
    }
  }
  return written;
}
