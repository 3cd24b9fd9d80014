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
