import { ApiaryError } from '@apiary/protocol';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/**
 * "256MB", "1.5GiB", "512m", or a plain number of bytes. Like most memory flags (Docker, JVM),
 * a bare k/m/g suffix is binary; KB/MB/GB are decimal.
 */
export function parseSize(input: string | number, what = 'size'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return Math.floor(input);
    throw new ApiaryError('CONFIG_INVALID', `${what}: ${input} is not a size`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase() || 'b'] : undefined;
  if (!m || unit === undefined) {
    throw new ApiaryError('CONFIG_INVALID', `${what}: "${input}" is not a size; use e.g. 256MB, 1GiB or 512m`);
  }
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "500ms", "2m", "7d", or a plain number of milliseconds. */
export function parseDuration(input: string | number, what = 'duration'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return Math.floor(input);
    throw new ApiaryError('CONFIG_INVALID', `${what}: ${input} is not a duration`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? DURATION_UNITS[(m[2] ?? '').toLowerCase() || 'ms'] : undefined;
  if (!m || unit === undefined) {
    throw new ApiaryError('CONFIG_INVALID', `${what}: "${input}" is not a duration; use e.g. 30s, 500ms or 2m`);
  }
  return Math.floor(Number(m[1]) * unit);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
