import type { HiveSession } from '../hives/hive-session.js';
import type { SubmitOptions } from '../tasks/new-task.js';

/**
 * Where a task over the queen's own files goes (a write's schema probe, a plain `--into` COPY): to a
 * hive that reads them in place while one is connected (nothing fetched or sent back over HTTP),
 * else to any hive (one that fetches cells fetches the samples and sends the output back).
 */
export function preferInPlace(hives: Iterable<HiveSession>): SubmitOptions {
  for (const h of hives) if (h.dataInPlace === true) return { onQueenFs: true };
  return {};
}
