import os from 'node:os';
import path from 'node:path';

/** Where apiary keeps state: `APIARY_HOME`, default `~/.apiary`. Nothing is written elsewhere but the temp dir. */
export function apiaryHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.APIARY_HOME;
  return path.resolve(h && h.length > 0 ? h : path.join(os.homedir(), '.apiary'));
}

/** Per-bee scratch dir under a hive's cache dir. */
export function beeScratchDir(cacheDir: string, beeId: number): string {
  return path.join(cacheDir, 'scratch', `bee-${beeId}`);
}

/** Where a queen daemon keeps its files under APIARY_HOME. */
export interface DaemonPaths {
  home: string;
  /** `{ url, pid, startedAt }` of the running daemon, written when it is ready (0600). */
  stateFile: string;
  pidFile: string;
  logFile: string;
  /** The pid of the hive the daemon started on this machine, so a restarted queen adopts it. */
  hivePidFile: string;
  clientTokenFile: string;
  joinTokenFile: string;
  db: string;
  resultsDir: string;
  cacheDir: string;
  /** Optional keeper config: `{ "queen": "http://host:port", "token": "…" }`. */
  configFile: string;
}

export function daemonPaths(home: string = apiaryHome()): DaemonPaths {
  return {
    home,
    stateFile: path.join(home, 'queen.json'),
    pidFile: path.join(home, 'queen.pid'),
    logFile: path.join(home, 'logs', 'queen.log'),
    hivePidFile: path.join(home, 'hive.pid'),
    clientTokenFile: path.join(home, 'tokens', 'client.token'),
    joinTokenFile: path.join(home, 'tokens', 'join.token'),
    db: path.join(home, 'queen.db'),
    resultsDir: path.join(home, 'results'),
    cacheDir: path.join(home, 'cache'),
    configFile: path.join(home, 'config.json'),
  };
}
