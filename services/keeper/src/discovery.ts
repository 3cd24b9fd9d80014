import { readFileSync } from 'node:fs';
import { daemonPaths, readDaemonState, readSecretFile, type DaemonPaths } from '@apiary/config';
import { ApiaryError } from '@apiary/protocol';
import { pinQueen } from './tls-pins.js';

export interface QueenTarget {
  url: string;
  token: string;
  /** Where the URL came from, for messages. */
  source: '--queen' | 'APIARY_QUEEN' | 'config' | 'local daemon';
  /** The https queen's pinned certificate (SHA-256), when one is known for it. */
  fingerprint?: string;
}

interface KeeperConfig {
  queen?: string;
  token?: string;
  /** SHA-256 of `queen`'s TLS certificate (a cluster queen serves https): pinned for it. */
  fingerprint?: string;
}

function readConfig(p: DaemonPaths): KeeperConfig {
  try {
    return JSON.parse(readFileSync(p.configFile, 'utf8')) as KeeperConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ApiaryError('CONFIG_INVALID', `${p.configFile}: ${(e as Error).message}`);
  }
}

/**
 * Which queen a command talks to: --queen URL > APIARY_QUEEN > `queen` in APIARY_HOME/config.json >
 * a running local daemon. null means none: the command runs on an ephemeral colony of its own.
 * The token: APIARY_TOKEN > `token` in config.json (sent only to config.json's `queen`, when it names
 * one) > APIARY_HOME/tokens/client.token, which belongs to the local daemon and is sent only to the URL
 * in its state file: a --queen URL elsewhere must not receive it.
 */
export function findQueen(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): QueenTarget | null {
  const p = daemonPaths(env.APIARY_HOME);
  const cfg = readConfig(p);
  const found = pick(flag, env, cfg, p);
  if (!found) return null;
  const [url, source] = found;
  if (!/^https?:\/\//.test(url)) throw new ApiaryError('USAGE', `queen URL "${url}" (from ${source}) must start with http:// or https://`);
  const target = url.replace(/\/+$/, '');
  const token = clientToken(p, cfg, env, target);
  const fingerprint = fingerprintFor(p, cfg, env, target);
  if (fingerprint) pinQueen(target, fingerprint);
  return { url: target, token, source, ...(fingerprint ? { fingerprint } : {}) };
}

/**
 * The certificate to pin for an https queen: APIARY_QUEEN_FINGERPRINT > `fingerprint` in config.json
 * (for config.json's `queen`) > the local daemon's queen.json (for its URL). None: the system CAs decide.
 */
function fingerprintFor(p: DaemonPaths, cfg: KeeperConfig, env: NodeJS.ProcessEnv, url: string): string | undefined {
  if (!url.startsWith('https:')) return undefined;
  if (env.APIARY_QUEEN_FINGERPRINT) return env.APIARY_QUEEN_FINGERPRINT;
  if (cfg.fingerprint && (!cfg.queen || sameQueen(cfg.queen, url))) return cfg.fingerprint;
  const local = readDaemonState(p);
  return local?.fingerprint && sameQueen(local.url, url) ? local.fingerprint : undefined;
}

/** Two queen URLs name the same queen when scheme, host, port and path agree (trailing slashes aside). */
function sameQueen(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

function pick(flag: string | undefined, env: NodeJS.ProcessEnv, cfg: KeeperConfig, p: DaemonPaths): [string, QueenTarget['source']] | null {
  if (flag) return [flag, '--queen'];
  if (env.APIARY_QUEEN) return [env.APIARY_QUEEN, 'APIARY_QUEEN'];
  if (cfg.queen) return [cfg.queen, 'config'];
  const d = readDaemonState(p);
  return d ? [d.url, 'local daemon'] : null;
}

/**
 * The join token hives started for the queen at `url` present: APIARY_JOIN_TOKEN, else the local
 * daemon's tokens/join.token, and that only when `url` is the local daemon's (as with the client token).
 */
export function joinTokenFor(url: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.APIARY_JOIN_TOKEN) return env.APIARY_JOIN_TOKEN;
  const p = daemonPaths(env.APIARY_HOME);
  const local = readDaemonState(p);
  if (!local || !sameQueen(local.url, url)) {
    throw new ApiaryError(
      'AUTH_FAILED',
      `no join token for the queen at ${url}: ${p.joinTokenFile} is the local queen's and is not sent elsewhere; set APIARY_JOIN_TOKEN`,
    );
  }
  return readSecretFile(p.joinTokenFile);
}

function clientToken(p: DaemonPaths, cfg: KeeperConfig, env: NodeJS.ProcessEnv, url: string): string {
  if (env.APIARY_TOKEN) return env.APIARY_TOKEN;
  if (cfg.token && (!cfg.queen || sameQueen(cfg.queen, url))) return cfg.token;
  const local = readDaemonState(p);
  if (!local || !sameQueen(local.url, url)) {
    const whose = local ? `the local queen's (${local.url})` : "the local queen's";
    throw new ApiaryError(
      'AUTH_FAILED',
      `no client token for the queen at ${url}: ${p.clientTokenFile} is ${whose} and is not sent elsewhere; set APIARY_TOKEN`,
    );
  }
  try {
    return readSecretFile(p.clientTokenFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new ApiaryError('AUTH_FAILED', `no client token for the queen at ${url}: set APIARY_TOKEN or put it in ${p.configFile}`);
  }
}
