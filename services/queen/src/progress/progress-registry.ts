import { ApiaryError, type ProgressPhase, type ProgressView } from '@apiary/protocol';

/** Requests followed at once; past this the oldest is forgotten (its client sees PROGRESS_NOT_FOUND, nothing else). */
export const MAX_FOLLOWED = 1024;

/**
 * What a write or a query reports as it goes. The count is the request's one measure of work
 * (cells for a query, input files for a write): set once with its total, advanced as tasks end,
 * and kept through the phases after it (merge, commit), so a reader sees it reach its total.
 */
export interface Progress {
  /** Enter a phase; with `size`, the count starts over at 0 of `size.total`. */
  phase(phase: ProgressPhase, size?: { total: number; unit: ProgressView['unit'] }): void;
  /** `n` units of the phase done; `cells` written or read by them. */
  advance(n: number, cells?: number): void;
}

/** Reports to nobody: a request without a request id. */
export const NO_PROGRESS: Progress = { phase() {}, advance() {} };

interface Entry {
  view: Omit<ProgressView, 'elapsed_ms'>;
  t0: number;
  /** The scope the request itself needed: reading its progress needs the same (routes-progress.ts). */
  scope: 'read' | 'submit';
}

/**
 * Request id → how far that request is, for GET /v1/progress/:id. An entry lives only while its
 * request runs (the route ends it when the response closes) and the map is bounded, so a client
 * that makes up ids costs at most MAX_FOLLOWED small entries.
 */
export class ProgressRegistry {
  readonly #entries = new Map<string, Entry>();

  /** Follow a request; the returned function ends it (idempotent). A reused id replaces the older entry. */
  begin(id: string, kind: ProgressView['kind'], scope: Entry['scope']): { progress: Progress; end: () => void } {
    this.#entries.delete(id);
    if (this.#entries.size >= MAX_FOLLOWED) this.#entries.delete(this.#entries.keys().next().value as string);
    const e: Entry = { view: { id, kind, phase: 'start', done: 0, total: 0, unit: kind === 'query' ? 'cells' : 'files', cells: 0 }, t0: Date.now(), scope };
    this.#entries.set(id, e);
    const progress: Progress = {
      phase(phase, size) {
        e.view = size ? { ...e.view, phase, total: size.total, unit: size.unit, done: 0 } : { ...e.view, phase };
      },
      advance(n, cells = 0) {
        e.view = { ...e.view, done: Math.min(e.view.total, e.view.done + n), cells: e.view.cells + cells };
      },
    };
    const end = () => {
      if (this.#entries.get(id) === e) this.#entries.delete(id);
    };
    return { progress, end };
  }

  /** The request's progress and the scope needed to read it; PROGRESS_NOT_FOUND when it is not running. */
  get(id: string): { view: ProgressView; scope: Entry['scope'] } {
    const e = this.#entries.get(id);
    if (!e) throw new ApiaryError('PROGRESS_NOT_FOUND', `no running request has id ${id} (not begun yet, or ended)`);
    return { view: { ...e.view, elapsed_ms: Date.now() - e.t0 }, scope: e.scope };
  }

  get size(): number {
    return this.#entries.size;
  }
}
