import type { WireError } from '@apiary/protocol';
import { pageSizeBytes, type Logger, type TreeUsage } from '@apiary/runtime';

/**
 * Consecutive 0-byte readings of a live bee before they count as invalid: a single one can be a
 * bee caught mid-exit (its memory already released, not yet a zombie). A bee never runs in 0 bytes.
 */
export const ZERO_READINGS_INVALID = 2;

/**
 * Guards a bee's memory readings: a reading that cannot be true (0 RSS for a live process tree,
 * e.g. because the page size came out as 0, as under qemu-user) would pass every budget check in
 * silence. It becomes MEMORY_READING_INVALID instead: logged once per bee and shown in its status.
 */
export class MemoryReading {
  #zeros = 0;
  #reportedPid: number | null = null;
  error: WireError | null = null;

  constructor(
    private readonly beeId: number,
    private readonly log: Logger,
  ) {}

  /** Whether the sample is a real reading (usable against the budget). */
  accept(u: TreeUsage, pid: number | null): boolean {
    // An empty tree: the bee is gone and its exit event has not arrived yet; nothing to judge.
    if (u.pids.length === 0) return false;
    if (u.rssBytes > 0) {
      this.#zeros = 0;
      this.error = null;
      return true;
    }
    this.#zeros++;
    if (this.#zeros < ZERO_READINGS_INVALID) return false;
    const page = pageSizeBytes();
    this.error = {
      code: 'MEMORY_READING_INVALID',
      message:
        `bee ${this.beeId} (pid ${pid}) reads 0 bytes of memory in ${this.#zeros} samples in a row, so its budget cannot be enforced` +
        (page > 0 ? '' : ' (no usable page size: /proc/self/auxv and `getconf PAGESIZE` gave none)'),
      details: { pid, pageSizeBytes: page, pids: u.pids.length },
    };
    if (this.#reportedPid !== pid) {
      this.#reportedPid = pid;
      this.log.error(this.error.message, { code: this.error.code, pid, pageSizeBytes: page });
    }
    return false;
  }
}
