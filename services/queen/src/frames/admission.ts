import { admit, isAtLeast, retryAfterMs, type RegulationOptions } from '@apiary/behaviours';
import { ApiaryError, type TemperatureView } from '@apiary/protocol';

/**
 * Hold a write while the colony is hot (BRIEF "Behaviours"), re-asking admit('write', …) until it
 * cools or the bound (default 10 s) is spent; then fail with the retryable COLONY_HOT rather than
 * pile more data onto a colony that is already struggling.
 */
export async function admitWrite(temperature: () => TemperatureView, signal?: AbortSignal, opts: RegulationOptions = {}): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const t = temperature();
    const waitedMs = Date.now() - t0;
    const a = admit('write', t, { ...opts, waitedMs });
    if (a.action === 'wait') {
      await sleep(a.recheckMs, signal);
      continue;
    }
    if (a.action === 'admit' && !isAtLeast(t.level, 'hot')) return;
    const after = a.action === 'refuse' ? a.retryAfterMs : retryAfterMs(t.value, opts);
    throw new ApiaryError('COLONY_HOT', `the colony stayed ${t.level} (temperature ${t.value.toFixed(2)}) for ${waitedMs} ms; retry the write in ${after} ms`, {
      retryAfterMs: after,
      temperature: t.value,
      level: t.level,
    });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiaryError('TASK_CANCELLED', 'the write was abandoned by its client'));
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new ApiaryError('TASK_CANCELLED', 'the write was abandoned by its client'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
