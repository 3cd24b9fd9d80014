/**
 * Frame versions a running query reads, with a reference count each. Vacuum skips a pinned version
 * (its cells stay in the catalog and on disk); the last unpin of a version tells the listeners, so
 * the deferred deletion can run then. In memory: a query never outlives its queen.
 */
export class VersionPins {
  readonly #counts = new Map<string, Map<number, number>>();
  readonly #listeners: ((frame: string, version: number) => void)[] = [];

  /** Hold `version` of `frame` until the returned release runs (once; later calls do nothing). */
  pin(frame: string, version: number): () => void {
    const byVersion = this.#counts.get(frame) ?? new Map<number, number>();
    this.#counts.set(frame, byVersion);
    byVersion.set(version, (byVersion.get(version) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(frame, version);
    };
  }

  /** The versions of `frame` some query holds now. */
  pinned(frame: string): ReadonlySet<number> {
    return new Set(this.#counts.get(frame)?.keys() ?? []);
  }

  count(frame: string, version: number): number {
    return this.#counts.get(frame)?.get(version) ?? 0;
  }

  /** Called after a version's last pin goes. */
  onUnpinned(f: (frame: string, version: number) => void): void {
    this.#listeners.push(f);
  }

  #release(frame: string, version: number): void {
    const byVersion = this.#counts.get(frame);
    const n = byVersion?.get(version) ?? 0;
    if (!byVersion || n <= 0) return;
    if (n > 1) {
      byVersion.set(version, n - 1);
      return;
    }
    byVersion.delete(version);
    if (byVersion.size === 0) this.#counts.delete(frame);
    for (const f of this.#listeners) f(frame, version);
  }
}
