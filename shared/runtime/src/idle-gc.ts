import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';

/**
 * A full, memory-reducing collection once a long-lived process goes quiet after work.
 *
 * V8 collects when allocation needs room, not when a process idles: after a burst of work the
 * queen and the hive sat on tens of MiB of garbage and grown semi-spaces for good (measured after
 * 100,000 tasks: the queen's heap 75 MiB of which 26 live, PSS 107 → 62 MiB after one collection;
 * the hive 51 of 12, PSS 62 → 28). `HeapProfiler.collectGarbage` over an in-process inspector
 * session is V8's low-memory notification: it collects everything and shrinks the heap, and needs
 * no `--expose-gc`. It runs only when the process used little CPU for a whole check interval and
 * the heap grew since the last one, so a loaded process never pays for it. CPU time, not event-loop
 * utilization: on a loaded machine an idle hive's 100 ms bee polls wait for a core inside their
 * callbacks and read as a busy loop, while the CPU they use stays small.
 */
export interface IdleGcOptions {
  /** How often to look (default IDLE_GC_CHECK_MS). */
  checkMs?: number;
  /** Quiet: the process used less than this share of one core over the interval (default 0.15: an idle hive polling 4 bees uses a few %, one running tasks most of a core). */
  quietCpu?: number;
  /** Worth a collection: heap used or committed grew by at least this since the last one (default 8 MiB). */
  growthBytes?: number;
  /**
   * Called at every quiet interval, before the heap is judged: a process drops its caches here (the
   * queen's finished-task LRU, SQLite's page cache), so the collection that may follow takes them.
   * Must be cheap when there is nothing to drop: a quiet process calls it every interval.
   */
  onQuiet?: () => void;
  /** Told after each collection (to log it). */
  onCollect?: (e: { heapBefore: number; heapAfter: number; ms: number }) => void;
}

export const IDLE_GC_CHECK_MS = 5_000;
const MiB = 1024 * 1024;

export function collectWhenIdle(o: IdleGcOptions = {}): { stop(): void } {
  const checkMs = o.checkMs ?? IDLE_GC_CHECK_MS;
  const quiet = o.quietCpu ?? 0.15;
  const growth = o.growthBytes ?? 8 * MiB;
  // Zero: the first quiet interval collects what starting up left behind.
  let after = { heapUsed: 0, heapTotal: 0 };
  let cpu = process.cpuUsage();
  let at = performance.now();
  let running = false;
  const timer = setInterval(() => {
    const used = process.cpuUsage(cpu);
    const busy = (used.user + used.system) / 1000 / Math.max(1, performance.now() - at);
    cpu = process.cpuUsage();
    at = performance.now();
    if (running || busy >= quiet) return;
    o.onQuiet?.();
    const m = process.memoryUsage();
    if (m.heapUsed - after.heapUsed < growth && m.heapTotal - after.heapTotal < growth) return;
    running = true;
    const t0 = performance.now();
    collect(() => {
      running = false;
      const a = process.memoryUsage();
      after = { heapUsed: a.heapUsed, heapTotal: a.heapTotal };
      // The collection's own CPU does not count against the next interval.
      cpu = process.cpuUsage();
      at = performance.now();
      o.onCollect?.({ heapBefore: m.heapTotal, heapAfter: a.heapTotal, ms: performance.now() - t0 });
    });
  }, checkMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** One collection; a node built without the inspector simply skips it. */
function collect(done: () => void): void {
  let s: Session;
  try {
    s = new Session();
    s.connect();
  } catch {
    done();
    return;
  }
  s.post('HeapProfiler.collectGarbage', () => {
    // Disconnecting inside the reply's callback deadlocks Node 20 (the agent's mutex is held): after it.
    setImmediate(() => {
      s.disconnect();
      done();
    });
  });
}
