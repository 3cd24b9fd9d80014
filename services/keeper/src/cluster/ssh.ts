import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Client, ClientChannel, ServerHostKeyAlgorithm, SFTPWrapper } from 'ssh2';
import { ApiaryError } from '@apiary/protocol';
import { addHostKey, hostKeyAlgorithms, keyTypeOf, verifyHostKey } from './known-hosts.js';

export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);

/** One SSH connection to one host (ssh2): key auth, host key checked against known_hosts. */
/** Ask a listed host for a key type known_hosts has for it first (as OpenSSH does); ssh2's defaults otherwise. */
function hostKeyAlgorithmsFor(t: SshTarget): { algorithms?: { serverHostKey: ServerHostKeyAlgorithm[] } } {
  const algs = hostKeyAlgorithms(t.knownHostsPath, t.address, t.port);
  return algs ? { algorithms: { serverHostKey: algs } } : {};
}

export class Ssh {
  #sftp: Promise<SFTPWrapper> | null = null;

  private constructor(
    readonly target: SshTarget,
    private readonly client: Client,
  ) {}

  static async connect(t: SshTarget, o: { acceptNewHostKeys?: boolean; readyTimeoutMs?: number } = {}): Promise<Ssh> {
    // Loaded on first use: an esbuild bundle hoists static imports of externals to its top.
    const ssh2 = (await import('ssh2')) as unknown as { Client: typeof Client; default?: { Client: typeof Client } };
    const ClientClass = ssh2.Client ?? ssh2.default!.Client;
    let privateKey: Buffer;
    try {
      privateKey = readFileSync(t.keyPath);
    } catch (e) {
      return Promise.reject(new ApiaryError('CONFIG_INVALID', `${t.name}: cannot read SSH key ${t.keyPath}: ${(e as Error).message}`));
    }
    return new Promise((resolve, reject) => {
      const client = new ClientClass();
      let keyProblem: ApiaryError | null = null;
      client.once('ready', () => resolve(new Ssh(t, client)));
      client.once('error', (e: Error & { level?: string; code?: string }) => {
        client.end();
        if (keyProblem) return reject(keyProblem);
        if (e.level === 'client-authentication') {
          return reject(
            new ApiaryError(
              'SSH_AUTH_FAILED',
              `${t.name}: ${t.user}@${t.address} refused the key ${t.keyPath}: add its public key to ~${t.user}/.ssh/authorized_keys on the host`,
            ),
          );
        }
        if ((e.code && UNREACHABLE.has(e.code)) || /Timed out while waiting for handshake/.test(e.message)) {
          return reject(
            new ApiaryError(
              'HOST_UNREACHABLE',
              `${t.name}: cannot reach ${t.address}:${t.port} (${e.code ?? e.message}): is the host up, on this network, with sshd listening?`,
            ),
          );
        }
        reject(new ApiaryError('HOST_UNREACHABLE', `${t.name}: SSH to ${t.address}:${t.port} failed: ${e.message}`));
      });
      client.connect({
        host: t.address,
        port: t.port,
        username: t.user,
        privateKey,
        readyTimeout: o.readyTimeoutMs ?? 8000,
        keepaliveInterval: 2000,
        keepaliveCountMax: 2,
        ...hostKeyAlgorithmsFor(t),
        hostVerifier: (key: Buffer) => {
          const type = keyTypeOf(key);
          const v = verifyHostKey(t.knownHostsPath, t.address, t.port, type, key);
          if (v.ok) return true;
          if (v.reason === 'unknown' && o.acceptNewHostKeys) {
            addHostKey(t.knownHostsPath, t.address, t.port, type, key);
            return true;
          }
          keyProblem =
            v.reason === 'revoked'
              ? new ApiaryError(
                  'HOST_KEY_REVOKED',
                  `${t.name}: the ${type} host key of ${t.address} is marked @revoked in ${t.knownHostsPath}: refusing it (--accept-new-host-keys never accepts a revoked key)`,
                )
              : v.reason === 'mismatch'
                ? new ApiaryError(
                    'HOST_KEY_MISMATCH',
                    `${t.name}: the ${type} host key of ${t.address} differs from ${t.knownHostsPath}: someone may be intercepting the connection, or the host was reinstalled (then remove its old line)`,
                  )
                : new ApiaryError(
                    'HOST_KEY_UNKNOWN',
                    `${t.name}: ${t.address}'s host key is not in ${t.knownHostsPath}: check it and add it (ssh-keyscan -p ${t.port} ${t.address} >> ${t.knownHostsPath}), or pass --accept-new-host-keys`,
                  );
          return false;
        },
      });
    });
  }

  /** Run a command (already quoted for a POSIX shell); collects output; never throws on exit code. */
  exec(command: string, o: { timeoutMs?: number; stdin?: string | Readable } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, ch) => {
        if (err) return reject(new ApiaryError('REMOTE_COMMAND_FAILED', `${this.target.name}: ${err.message}`));
        let stdout = '';
        let stderr = '';
        const timer = o.timeoutMs
          ? setTimeout(() => {
              ch.close();
              reject(new ApiaryError('REMOTE_COMMAND_FAILED', `${this.target.name}: \`${command.slice(0, 80)}\` ran past ${o.timeoutMs} ms`));
            }, o.timeoutMs)
          : null;
        ch.on('data', (d: Buffer) => (stdout += d.toString()));
        ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        let code: number | null = null;
        let signal: string | null = null;
        ch.on('exit', (c: number | null, s?: string) => {
          code = c;
          signal = s ?? null;
        });
        // 'close' comes after 'exit' (or alone, when the connection drops: code stays null).
        ch.on('close', () => {
          if (timer) clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
        if (typeof o.stdin === 'string') ch.end(o.stdin);
        else if (o.stdin) {
          // A remote command that fails early closes the channel under the stream: its exit code
          // says what happened, so a write error here is not the story.
          ch.on('error', () => undefined);
          o.stdin.on('error', (e) => {
            ch.close();
            reject(new ApiaryError('REMOTE_COMMAND_FAILED', `${this.target.name}: reading what to send failed: ${e.message}`));
          });
          o.stdin.pipe(ch);
        } else ch.end();
      });
    });
  }

  /** A long-lived command on its own channel (an attached hive); closing the channel ends its stdin. */
  spawn(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, ch) => (err ? reject(new ApiaryError('REMOTE_COMMAND_FAILED', `${this.target.name}: ${err.message}`)) : resolve(ch)));
    });
  }

  sftp(): Promise<SFTPWrapper> {
    this.#sftp ??= new Promise((resolve, reject) => this.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    return this.#sftp;
  }

  close(): void {
    this.client.end();
  }
}
