import { ApiaryError, ErrorCodes, type BeeStatus, type WireError } from '@apiary/protocol';

/**
 * Colony temperature (see BRIEF "Behaviours"): one number in [0, 1] summarising how loaded the
 * colony is, its classification, and the admission policy it drives. Pure: no I/O, no timers.
 *
 *   T = 0.4·cpu + 0.4·memoryPressure + 0.2·min(queued / (2·bees), 1)
 *
 *   cold < 0.3 ≤ ideal < 0.7 ≤ warm < 0.85 ≤ hot < 0.95 ≤ critical
 */

export type TemperatureLevel = 'cold' | 'ideal' | 'warm' | 'hot' | 'critical';

export type Temperature = {
  /** T in [0, 1], rounded to 3 decimals; `level` is the classification of this rounded value. */
  value: number;
  level: TemperatureLevel;
  /** The three clamped components, each in [0, 1] and rounded to 3 decimals. */
  cpu: number;
  memoryPressure: number;
  queuePressure: number;
};

export interface TemperatureInput {
  /** Mean CPU utilisation of the bees' process trees, 0..1 (clamped). */
  cpu: number;
  /** Σ bee RSS / Σ bee budgets, 0..1 (clamped). */
  memoryPressure: number;
  /** Optional host memory pressure, 0..1; when given, the larger of the two pressures is used. */
  hostMemoryPressure?: number;
  /** Tasks waiting for a bee. */
  queued: number;
  /** Bees able to take work (not exited). */
  bees: number;
}

export const TEMPERATURE_WEIGHTS = Object.freeze({ cpu: 0.4, memory: 0.4, queue: 0.2 });

/** Lower bound (inclusive) of each level above cold. */
export const TEMPERATURE_THRESHOLDS = Object.freeze({ ideal: 0.3, warm: 0.7, hot: 0.85, critical: 0.95 });

const LEVEL_ORDER: readonly TemperatureLevel[] = ['cold', 'ideal', 'warm', 'hot', 'critical'];

/** NaN → 0, otherwise clamped to [0, 1] (so +Infinity → 1). */
function clamp01(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(1, Math.max(0, x));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Queue term: min(queued / (2·bees), 1); with no bees it is 1 if anything is queued, else 0. */
export function queuePressure(queued: number, bees: number): number {
  const q = Number.isNaN(queued) ? 0 : Math.max(0, queued);
  const b = Number.isNaN(bees) ? 0 : Math.max(0, bees);
  if (q === 0) return 0;
  if (b === 0) return 1;
  return Math.min(q / (2 * b), 1);
}

/** Classifies a temperature value. Values outside [0, 1] are clamped first; NaN is refused. */
export function classifyTemperature(value: number): TemperatureLevel {
  if (Number.isNaN(value)) throw new RangeError('classifyTemperature: value is NaN');
  const v = Math.min(1, Math.max(0, value));
  if (v >= TEMPERATURE_THRESHOLDS.critical) return 'critical';
  if (v >= TEMPERATURE_THRESHOLDS.hot) return 'hot';
  if (v >= TEMPERATURE_THRESHOLDS.warm) return 'warm';
  if (v >= TEMPERATURE_THRESHOLDS.ideal) return 'ideal';
  return 'cold';
}

/** True when `level` is at least as hot as `than`. */
export function isAtLeast(level: TemperatureLevel, than: TemperatureLevel): boolean {
  return LEVEL_ORDER.indexOf(level) >= LEVEL_ORDER.indexOf(than);
}

/** Computes the colony temperature from its inputs (every input is clamped, never trusted). */
export function computeTemperature(input: TemperatureInput): Temperature {
  const cpu = clamp01(input.cpu);
  const memoryPressure =
    input.hostMemoryPressure === undefined ? clamp01(input.memoryPressure) : Math.max(clamp01(input.memoryPressure), clamp01(input.hostMemoryPressure));
  const queue = queuePressure(input.queued, input.bees);
  const raw = TEMPERATURE_WEIGHTS.cpu * cpu + TEMPERATURE_WEIGHTS.memory * memoryPressure + TEMPERATURE_WEIGHTS.queue * queue;
  const value = round3(clamp01(raw));
  return {
    value,
    level: classifyTemperature(value),
    cpu: round3(cpu),
    memoryPressure: round3(memoryPressure),
    queuePressure: round3(queue),
  };
}

/** The parts of a BeeStatus the temperature needs (so callers may pass lighter objects). */
export type BeeLoad = Pick<BeeStatus, 'state' | 'cpuPercent' | 'rssBytes' | 'budgetBytes'>;

/**
 * Derives the temperature inputs from the bees of every hive plus the queue depth. Exited bees
 * are ignored; `cpuPercent` (0..100 per core of the bee's tree) counts at most one core per bee.
 *   cpu            = mean(min(cpuPercent / 100, 1))
 *   memoryPressure = Σ rssBytes / Σ budgetBytes, clamped to [0, 1]
 */
export function temperatureInputFromBees(bees: readonly BeeLoad[], queued: number, opts: { hostMemoryPressure?: number } = {}): TemperatureInput {
  const live = bees.filter((b) => b.state !== 'exited');
  let cpuSum = 0;
  let rss = 0;
  let budget = 0;
  for (const b of live) {
    cpuSum += clamp01(b.cpuPercent / 100);
    rss += Number.isFinite(b.rssBytes) ? Math.max(0, b.rssBytes) : 0;
    budget += Number.isFinite(b.budgetBytes) ? Math.max(0, b.budgetBytes) : 0;
  }
  const input: TemperatureInput = {
    cpu: live.length === 0 ? 0 : cpuSum / live.length,
    memoryPressure: budget > 0 ? clamp01(rss / budget) : 0,
    queued: Number.isFinite(queued) ? Math.max(0, queued) : 0,
    bees: live.length,
  };
  if (opts.hostMemoryPressure !== undefined) input.hostMemoryPressure = opts.hostMemoryPressure;
  return input;
}

/** Shorthand: `computeTemperature(temperatureInputFromBees(...))`. */
export function temperatureFromBees(bees: readonly BeeLoad[], queued: number, opts: { hostMemoryPressure?: number } = {}): Temperature {
  return computeTemperature(temperatureInputFromBees(bees, queued, opts));
}

// ---------------------------------------------------------------------------------------------
// Regulation (admission control)

export type AdmissionKind = 'query' | 'write';

export type Admission =
  | { action: 'admit' }
  /** Wait at most `maxWaitMs` more, re-asking every `recheckMs` (with the time waited so far). */
  | { action: 'wait'; maxWaitMs: number; recheckMs: number }
  /** Refused with a retryable COLONY_CRITICAL error; the client should retry after `retryAfterMs`. */
  | { action: 'refuse'; retryable: true; retryAfterMs: number; error: WireError & { code: 'COLONY_CRITICAL' } };

export interface RegulationOptions {
  /** How long this request has already waited (writes only); default 0. */
  waitedMs?: number;
  /** Total bound of a write's wait while the colony is hot or critical; default 10 000 ms. */
  writeMaxWaitMs?: number;
  /** How often a waiting write re-asks; default 250 ms. */
  recheckMs?: number;
  /** retryAfterMs at T = 0.95 (the critical threshold); default 1000 ms. */
  minRetryAfterMs?: number;
  /** retryAfterMs at T = 1; default 5000 ms. */
  maxRetryAfterMs?: number;
}

export const REGULATION_DEFAULTS = Object.freeze({
  writeMaxWaitMs: 10_000,
  recheckMs: 250,
  minRetryAfterMs: 1_000,
  maxRetryAfterMs: 5_000,
});

function nonNegativeOption(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new ApiaryError('CONFIG_INVALID', `${name} must be a finite number ≥ 0, got ${v}`);
  return v;
}

function asTemperature(t: Temperature | number): { value: number; level: TemperatureLevel } {
  if (typeof t === 'number') {
    if (Number.isNaN(t)) throw new RangeError('temperature is NaN');
    const value = clamp01(t); // a bare number is taken as given (not rounded), only clamped
    return { value, level: classifyTemperature(value) };
  }
  return { value: t.value, level: t.level };
}

/**
 * Suggested client back-off when the colony is critical: linear from `minRetryAfterMs` at the
 * critical threshold (0.95) to `maxRetryAfterMs` at T = 1, whole milliseconds.
 */
export function retryAfterMs(value: number, opts: Pick<RegulationOptions, 'minRetryAfterMs' | 'maxRetryAfterMs'> = {}): number {
  const lo = nonNegativeOption('minRetryAfterMs', opts.minRetryAfterMs, REGULATION_DEFAULTS.minRetryAfterMs);
  const hi = nonNegativeOption('maxRetryAfterMs', opts.maxRetryAfterMs, REGULATION_DEFAULTS.maxRetryAfterMs);
  if (hi < lo) throw new ApiaryError('CONFIG_INVALID', `maxRetryAfterMs (${hi}) is below minRetryAfterMs (${lo})`);
  const c = TEMPERATURE_THRESHOLDS.critical;
  const frac = Math.min(1, Math.max(0, (clamp01(value) - c) / (1 - c)));
  return Math.round(lo + frac * (hi - lo));
}

function refuse(value: number, level: TemperatureLevel, kind: AdmissionKind, opts: RegulationOptions): Admission {
  const after = retryAfterMs(value, opts);
  return {
    action: 'refuse',
    retryable: true,
    retryAfterMs: after,
    error: {
      code: 'COLONY_CRITICAL',
      message: `${ErrorCodes.COLONY_CRITICAL} (temperature ${value.toFixed(3)}, ${level}; new ${kind}s are refused, retry in ${after} ms)`,
      details: { temperature: value, level, kind, retryAfterMs: after },
    },
  };
}

/**
 * The admission decision for a new query or write at the given temperature.
 * - query: admitted below critical; at critical refused (retryable COLONY_CRITICAL + retryAfterMs).
 * - write: admitted below hot; at hot or critical it waits, bounded by `writeMaxWaitMs` in total
 *   (the caller passes `waitedMs` when it re-asks). Once the bound is spent a write proceeds if
 *   the colony is merely hot, and is refused like a query if it is still critical.
 */
export function admit(kind: AdmissionKind, temperature: Temperature | number, opts: RegulationOptions = {}): Admission {
  const { value, level } = asTemperature(temperature);
  if (kind === 'query') {
    return level === 'critical' ? refuse(value, level, kind, opts) : { action: 'admit' };
  }
  if (!isAtLeast(level, 'hot')) return { action: 'admit' };
  const bound = nonNegativeOption('writeMaxWaitMs', opts.writeMaxWaitMs, REGULATION_DEFAULTS.writeMaxWaitMs);
  const waited = nonNegativeOption('waitedMs', opts.waitedMs, 0);
  const recheck = nonNegativeOption('recheckMs', opts.recheckMs, REGULATION_DEFAULTS.recheckMs);
  const remaining = bound - waited;
  if (remaining > 0) return { action: 'wait', maxWaitMs: remaining, recheckMs: Math.min(Math.max(recheck, 1), remaining) };
  return level === 'critical' ? refuse(value, level, kind, opts) : { action: 'admit' };
}

/** Both decisions at once, e.g. for colony status. */
export function regulate(temperature: Temperature | number, opts: RegulationOptions = {}): { query: Admission; write: Admission } {
  return { query: admit('query', temperature, opts), write: admit('write', temperature, opts) };
}
