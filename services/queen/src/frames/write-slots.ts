/**
 * The writes running now, for hives that cannot see the data root (routes-cells.ts): such a hive
 * may read a running write's input files (GET /v1/cells/write-input?path=…) and send the cells its
 * bee cut back into that write's staging dir (PUT /v1/cells/frames/<frame>/staging/<write id>/…),
 * and nothing else. A slot opens when the write submits its tasks and closes before its staging dir
 * is removed; closing aborts uploads still arriving and waits for them, so no file lands after.
 */
export interface VerifiedCell {
  sha256: string;
  bytes: number;
}

interface Upload {
  abort(): void;
  done: Promise<void>;
}

interface Slot {
  frame: string;
  inputs: ReadonlySet<string>;
  /** Staged path (relative to the data root) → what the queen hashed as it arrived. */
  verified: Map<string, VerifiedCell>;
  active: Set<Upload>;
}

/** `frames/<frame>/staging/<write id>/t<i>/a<attempt>/<file…>.parquet`, no `.`/`..` segments. */
const STAGED = /^frames\/([a-z_][a-z0-9_]{0,62})\/staging\/([0-9a-f-]{36})\/t\d+\/a\d+\/(?:[^/\\]+\/)*[^/\\]+\.parquet$/;

export function parseStaged(rel: string): { frame: string; writeId: string } | undefined {
  const m = STAGED.exec(rel);
  if (!m || rel.split('/').some((s) => s === '.' || s === '..' || s.startsWith('.'))) return undefined;
  return { frame: m[1]!, writeId: m[2]! };
}

export class WriteSlots {
  readonly #open = new Map<string, Slot>();

  open(writeId: string, frame: string, inputs: readonly string[]): void {
    this.#open.set(writeId, { frame, inputs: new Set(inputs), verified: new Map(), active: new Set() });
  }

  /** Close the slot: later requests are refused, uploads in flight are aborted and awaited. */
  async close(writeId: string): Promise<void> {
    const s = this.#open.get(writeId);
    if (!s) return;
    this.#open.delete(writeId);
    for (const u of s.active) u.abort();
    await Promise.all([...s.active].map((u) => u.done.catch(() => undefined)));
  }

  /** Whether some running write reads this input file (absolute path on the queen's machine). */
  inputAllowed(file: string): boolean {
    for (const s of this.#open.values()) if (s.inputs.has(file)) return true;
    return false;
  }

  /** Track one upload into a staged path; undefined when no running write of that frame stages there. */
  begin(rel: string, abort: () => void): { finish(v: VerifiedCell | null): void; done: Promise<void> } | undefined {
    const p = parseStaged(rel);
    const s = p && this.#open.get(p.writeId);
    if (!s || s.frame !== p.frame) return undefined;
    let resolve!: () => void;
    const u: Upload = { abort, done: new Promise<void>((r) => (resolve = r)) };
    s.active.add(u);
    return {
      done: u.done,
      finish: (v) => {
        if (v && this.#open.get(p.writeId) === s) s.verified.set(rel, v);
        s.active.delete(u);
        resolve();
      },
    };
  }

  /** What arrived at `rel` for this write, hashed by the queen; undefined if nothing did. */
  verified(writeId: string, rel: string): VerifiedCell | undefined {
    return this.#open.get(writeId)?.verified.get(rel);
  }

  get size(): number {
    return this.#open.size;
  }
}
