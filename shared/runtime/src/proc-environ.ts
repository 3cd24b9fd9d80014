import { readFileSync } from 'node:fs';

/**
 * The environment a live process was started with (/proc/PID/environ, Linux): what it was given at
 * exec, not what it set later. Null when the process is gone or not ours to read (another user's).
 */
export function readProcEnviron(pid: number): Record<string, string> | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return null;
  }
  const env: Record<string, string> = {};
  for (const kv of raw.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}
