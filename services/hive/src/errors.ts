import { ApiaryError, type WireError } from '@apiary/protocol';

/** The hive's typed errors, built in one place so codes and wording stay consistent. */
export const HiveErrors = {
  timeout: (ms: number): WireError => ({
    code: 'TASK_TIMEOUT',
    message: `task ran past its ${ms} ms timeout and was stopped (a JS task that ignores ctx.signal has its bee and everything it started killed) (raise --timeout if the task is legitimately slow)`,
    details: { timeoutMs: ms },
  }),
  memory: (bee: number, rss: number, budget: number): WireError => ({
    code: 'BEE_MEMORY_EXCEEDED',
    message: `bee ${bee} used ${mb(rss)} MiB, over its ${mb(budget)} MiB budget; its process tree was killed (raise --memory-per-bee or make the task smaller)`,
    details: { rssBytes: rss, budgetBytes: budget },
  }),
  /** V8 aborted the bee at its heap cap (`--max-old-space-size`, a share of the budget). */
  heap: (bee: number, heapMb: number, budget: number): WireError => ({
    code: 'BEE_MEMORY_EXCEEDED',
    message: `bee ${bee} ran out of JavaScript heap (its ${heapMb} MiB V8 heap cap, part of its ${mb(budget)} MiB budget); it aborted and was replaced (raise --memory-per-bee or make the task smaller)`,
    details: { source: 'v8-heap', heapLimitMb: heapMb, budgetBytes: budget },
  }),
  crashed: (bee: number, code: number | null, signal: string | null): WireError => ({
    code: 'BEE_CRASHED',
    message: `bee ${bee} exited while running the task (${signal ? `signal ${signal}` : `exit code ${code}`})`,
  }),
  cancelled: (why: string): WireError => ({ code: 'TASK_CANCELLED', message: why }),
  noToken: (): ApiaryError => new ApiaryError('CONFIG_INVALID', 'no join token: set APIARY_JOIN_TOKEN or pass --token-file PATH (a 0600 file)'),
};

function mb(n: number): string {
  return (n / (1024 * 1024)).toFixed(0);
}
