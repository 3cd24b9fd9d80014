/**
 * The query outputs a remote hive may PUT back (PUT /v1/cells/queries/…): exactly the `into` paths
 * of the query steps that are out now. A step's path opens when the step is submitted and closes
 * when it ends, so a join-token holder cannot store files under any other path, nor after the query
 * is over; the number of files a query can receive is its number of steps (map groups + merge), each
 * at most MAX_PARTIAL_BYTES.
 */
export class UploadSlots {
  /** Path relative to the data root → the task that writes it. */
  readonly #open = new Map<string, string>();

  open(rel: string, taskId: string): void {
    this.#open.set(rel, taskId);
  }

  /** Close `rel` if `taskId` still owns it (a later step may have reused nothing, but be exact). */
  close(rel: string, taskId: string): void {
    if (this.#open.get(rel) === taskId) this.#open.delete(rel);
  }

  /** The task expecting `rel`, or undefined when no step out now writes it. */
  expects(rel: string): string | undefined {
    return this.#open.get(rel);
  }

  get size(): number {
    return this.#open.size;
  }
}
