import type { QueenToHive, TaskLimits } from '@apiary/protocol';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStrIn = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
const isRef = (m: Record<string, unknown>) => isStrIn(m.taskId, 128) && isInt(m.attempt) && m.attempt > 0 && isStrIn(m.token, 64);
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);

/** TaskLimits by direct tests, rebuilt with only its keys (as its parse would); undefined: not valid. */
function limitsOf(l: unknown): TaskLimits | undefined {
  if (!isObj(l)) return undefined;
  const { timeoutMs, maxAttempts, retryUserErrors } = l;
  if (!optional(timeoutMs, (v) => isInt(v) && (v as number) > 0 && (v as number) <= 86_400_000)) return undefined;
  if (!optional(maxAttempts, (v) => isInt(v) && (v as number) >= 1 && (v as number) <= 20)) return undefined;
  if (!optional(retryUserErrors, (v) => typeof v === 'boolean')) return undefined;
  const out: TaskLimits = {};
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs as number;
  if (maxAttempts !== undefined) out.maxAttempts = maxAttempts as number;
  if (retryUserErrors !== undefined) out.retryUserErrors = retryUserErrors as boolean;
  return out;
}

/**
 * The messages of every task on a hive, a js `task.assign` and `result.ack`, checked against their
 * schemas (hive-wire.ts, task.ts) by direct tests and rebuilt with only the schema's keys and
 * defaults, as the zod parse would (it was ~2-3 µs of the hive's CPU per task). Returns undefined
 * for anything else, valid or not: the caller parses that with QueenToHive, which words the error.
 */
export function checkHotQueenToHive(raw: unknown): QueenToHive | undefined {
  if (!isObj(raw) || !isRef(raw)) return undefined;
  const { taskId, attempt, token } = raw as { taskId: string; attempt: number; token: string };
  if (raw.type === 'result.ack') return typeof raw.accepted === 'boolean' ? { type: 'result.ack', taskId, attempt, token, accepted: raw.accepted } : undefined;
  if (raw.type !== 'task.assign') return undefined;
  const s = raw.spec;
  if (!isObj(s) || s.kind !== 'js' || !isStrIn(s.module, 4096) || !optional(s.export, (v) => isStrIn(v, 256))) return undefined;
  const limits = limitsOf(raw.limits);
  if (!limits) return undefined;
  const avoid = raw.avoidBees;
  if (!optional(avoid, (v) => Array.isArray(v) && v.every(isInt))) return undefined;
  const spec: Extract<QueenToHive, { type: 'task.assign' }>['spec'] = { kind: 'js', module: s.module, export: (s.export as string | undefined) ?? 'default' };
  if ('args' in s && s.args !== undefined) spec.args = s.args;
  return { type: 'task.assign', taskId, attempt, token, spec, limits, avoidBees: (avoid as number[] | undefined) ?? [] };
}
